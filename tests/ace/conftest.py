"""Session-wide ACE models for the plugin tests.

Three pacemaker fits together cover every radial basis, both embeddings, one
and two elements, ndensity 1 and >= 2, and runs with and without a core
repulsion.  They are fitted once per session into pytest's temporary factory
and shared by all tests (about a minute each on two cores).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from tests.ace import helpers


@dataclass(frozen=True)
class FittedModel:
    name: str
    path: Path
    elements: tuple[str, ...]
    close_contact_A: float  # pulls one pair into the inner-cutoff / core region


FITS = {
    # one element, SBessel, FinnisSinclairShiftedScaled with two densities, no core repulsion
    "si_sbessel": dict(
        elements=("Si",),
        potential={
            "embeddings": {"ALL": {"npot": "FinnisSinclairShiftedScaled", "fs_parameters": [1, 1, 1, 0.5], "ndensity": 2}},
            "bonds": {"ALL": {"radbase": "SBessel", "radparameters": [5.25], "rcut": 5.0, "dcut": 0.01}},
            "functions": {"number_of_functions_per_element": 40,
                          "ALL": {"nradmax_by_orders": [8, 3, 2, 1], "lmax_by_orders": [0, 3, 2, 1]}},
        },
        fit_extra={},
        close_contact_A=1.9,
    ),
    # one element, ChebExpCos, FinnisSinclair with one density, pacemaker's automatic ZBL core
    "si_chebexpcos_zbl": dict(
        elements=("Si",),
        potential={
            "embeddings": {"ALL": {"npot": "FinnisSinclair", "fs_parameters": [1, 1], "ndensity": 1}},
            "bonds": {"ALL": {"radbase": "ChebExpCos", "radparameters": [5.25], "rcut": 5.0, "dcut": 0.01}},
            "functions": {"number_of_functions_per_element": 40,
                          "ALL": {"nradmax_by_orders": [8, 3, 2, 1], "lmax_by_orders": [0, 3, 2, 1]}},
        },
        fit_extra={"repulsion": "auto"},
        close_contact_A=1.7,
    ),
    # two elements, ChebPow, three densities, exponential core repulsion inside r_in with a
    # finite core-density cutoff that switches ACE off at the close contact
    "inp_chebpow_core": dict(
        elements=("In", "P"),
        potential={
            "embeddings": {"ALL": {"npot": "FinnisSinclairShiftedScaled",
                                   "fs_parameters": [1, 1, 1, 0.5, 0.5, 0.75], "ndensity": 3,
                                   "rho_core_cut": 5.0, "drho_core_cut": 3.0}},
            "bonds": {"ALL": {"radbase": "ChebPow", "radparameters": [2.0], "rcut": 5.5, "dcut": 0.01,
                              "core-repulsion": [1000.0, 1.0], "r_in": 2.1, "delta_in": 0.3}},
            "functions": {"number_of_functions_per_element": 30,
                          "ALL": {"nradmax_by_orders": [8, 3, 2], "lmax_by_orders": [0, 3, 2]}},
        },
        fit_extra={},
        close_contact_A=1.8,
    ),
}


@pytest.fixture(scope="session")
def plugin_path():
    # session fixtures run before the per-test cache redirection of tests/conftest.py
    from simkit.lammps.pace_plugin import build_plugin
    from tests.conftest import _shared_cache

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SIMKIT_CACHE_DIR", str(_shared_cache()))
        return build_plugin()


@pytest.fixture(scope="session")
def fitted_models(tmp_path_factory) -> dict[str, FittedModel]:
    root = tmp_path_factory.mktemp("ace-fits")
    rng = np.random.default_rng(2024)
    models = {}
    for name, spec in FITS.items():
        structures = helpers.training_structures(spec["elements"], 24, rng)
        path = helpers.fit_ace(root / name, spec["elements"], spec["potential"], structures, maxiter=120,
                               fit_extra=spec["fit_extra"])
        models[name] = FittedModel(name, path, spec["elements"], spec["close_contact_A"])
    return models
