"""Benchmarks users run before committing machine time: scaling scans and machine descriptions."""
