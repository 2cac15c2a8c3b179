"""``simkit distil``: label generated structures with a teacher potential (knowledge distillation)."""
