"""``simkit export FILE -o OUT``: a trajectory as extended XYZ or a LAMMPS dump, for OVITO, ASE and LAMMPS.

OVITO cannot open H5MD; this streams the frames (one in memory at a time) into
a text format it reads. See :mod:`simkit.io.export` for the formats and the
guarantee that an interrupted export leaves no truncated output.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from simkit.errors import ConfigError
from simkit.runtime.mpi import launched_by_mpirun, on_root, rank_of, world


class Command:
    """Export an H5MD (or extended XYZ) trajectory as extended XYZ or a LAMMPS text dump.

    The format comes from --format or the output's suffix (.extxyz/.xyz, .dump/.lammpstrj).
    Species, cell, open axes, step and time, velocities, forces and per-atom data
    (e.g. crystalline) are kept; LAMMPS types number the species by atomic number.
    Positions are wrapped unless --unwrapped. Under mpirun, rank 0 exports alone.
    """

    help = "export a trajectory as extended XYZ or a LAMMPS dump (OVITO cannot open H5MD)"

    @staticmethod
    def add_arguments(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("file", type=Path, help="trajectory: H5MD (.h5md), or extended XYZ (.xyz, .extxyz)")
        parser.add_argument("-o", "--output", type=Path, required=True, help="the file to write")
        parser.add_argument("--format", metavar="FORMAT",
                            help="extxyz or lammps-dump (default: from the output's suffix)")
        parser.add_argument("--frames", default=":", metavar="A:B:C",
                            help="frames in Python's slice syntax, or one index (default: all; write --frames=-1 "
                            "for a value starting with '-')")
        parser.add_argument("--unwrapped", action="store_true",
                            help="positions unwrapped with the file's image flags (default: wrapped, as stored)")
        parser.add_argument("--overwrite", action="store_true", help="replace an existing output")

    @staticmethod
    def run(args: argparse.Namespace) -> int:
        # lazy: h5py and ASE would slow down `simkit --help`
        from simkit.io.export import export_trajectory, parse_frames

        try:
            frames = parse_frames(args.frames)
        except ValueError as exc:
            raise ConfigError(f"--frames: {exc}") from None
        comm = world() if launched_by_mpirun() else None
        # Rank 0 alone reads and writes; the others wait for its summary, or raise its error with it.
        summary = on_root(comm, lambda: export_trajectory(args.file, args.output, args.format, frames=frames,
                                                          unwrapped=args.unwrapped, overwrite=args.overwrite))
        if rank_of(comm) == 0:
            print(f"{summary['output']}: {summary['frames']} frames, {summary['atoms']} atoms, {summary['bytes']} "
                  f"bytes, {summary['seconds']:.2f} s ({summary['format']})")
        return 0
