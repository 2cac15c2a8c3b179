"""Process-level runtime: MPI library loading, communicators, provenance, paths."""
