"""Analyses of trajectories (H5MD or extended XYZ), each streaming over frames and writing HDF5, CSV and PNG.

One registry line per analysis: its option model (validated, units in key
names) and the function that runs it on an open trajectory. The CLI
(``simkit analyse FILE NAME``) and :func:`run_analysis` both go through it.

==============  ==========================================================
rdf             partial radial distribution functions, running coordination
angles          bond-angle distributions by triplet species
coordination    coordination numbers per species pair, per frame
msd             mean squared displacement per species (FFT, all origins)
profiles        density and composition along a cell vector
crystallinity   crystal-like atoms (SOAP similarity or ten Wolde bonds),
                crystalline fraction per frame and per slab
defects         Wigner-Seitz vacancies, interstitials, antisites and Frenkel
                pairs against a reference lattice; their clusters and extent
grains          crystalline grains (crystal-like atoms of one Steinhardt
                orientation): count, equivalent diameters, nucleation events
==============  ==========================================================
"""

from __future__ import annotations

import importlib
from pathlib import Path

from simkit.analysis import options

# name -> (options model in simkit.analysis.options, module, function(trajectory, options, progress=...)
# returning a result with .write(output_dir)).
ANALYSES: dict[str, tuple[str, str, str]] = {
    "rdf": ("RdfOptions", "simkit.analysis.rdf", "analyse_rdf"),
    "angles": ("AngleOptions", "simkit.analysis.angles", "analyse_angles"),
    "coordination": ("CoordinationOptions", "simkit.analysis.coordination", "analyse_coordination"),
    "msd": ("MsdOptions", "simkit.analysis.msd", "analyse_msd"),
    "profiles": ("ProfileOptions", "simkit.analysis.profiles", "analyse_profiles"),
    "crystallinity": ("CrystallinityOptions", "simkit.analysis.crystallinity", "analyse_crystallinity"),
    "defects": ("DefectOptions", "simkit.analysis.defects", "analyse_defects"),
    "grains": ("GrainOptions", "simkit.analysis.grains", "analyse_grains"),
}


def options_model(name: str) -> type:
    """The option model of analysis ``name`` (light: imports pydantic only)."""
    if name not in ANALYSES:
        raise KeyError(f"unknown analysis {name!r}; choose from {sorted(ANALYSES)}")
    return getattr(options, ANALYSES[name][0])


def analysis_function(name: str):
    """The function running analysis ``name`` (imports its numerical module)."""
    options_model(name)
    _, module_name, function_name = ANALYSES[name]
    return getattr(importlib.import_module(module_name), function_name)


def run_analysis(path: str | Path, name: str, options=None, output_dir: str | Path | None = None, *,
                 progress: bool = True):
    """Run analysis ``name`` on the trajectory at ``path``; write outputs if ``output_dir`` is given.

    H5MD or extended XYZ (``.xyz``, ``.extxyz``), by suffix (:func:`simkit.io.open_trajectory`).

    Returns ``(result, outputs)`` where outputs maps kinds (hdf5, csv, png) to paths.
    """
    # lazy: h5py and ase.io load in ~0.8 s and `simkit --help` imports this package for the analysis flags
    from simkit.io.trajectory import open_trajectory

    function = analysis_function(name)
    options = options if options is not None else options_model(name)()
    with open_trajectory(path) as trajectory:
        result = function(trajectory, options, progress=progress)
    outputs = result.write(Path(output_dir)) if output_dir is not None else {}
    return result, outputs
