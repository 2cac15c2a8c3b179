"""Radiation damage: threshold displacement energies, collision cascades, electronic stopping, damage models."""
