"""``simkit ace``: checking simkit's LAMMPS pace plugin against pyace, and model coverage.

Reading ``.yace`` files is :mod:`simkit.io.yace` (a file format, below the LAMMPS layer).
"""
