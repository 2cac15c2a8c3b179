"""``simkit learn``: active learning of an ACE student driven by its extrapolation grade."""
