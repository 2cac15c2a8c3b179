"""The LAMMPS session layer: structures in, potentials as pair styles, results out."""
