"""Where structures enter simkit: files ASE reads, or crystals built from a spec."""

from simkit.structures.spec import BulkSpec, StructureSpec, load_structure

__all__ = ["BulkSpec", "StructureSpec", "load_structure"]
