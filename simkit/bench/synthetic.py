"""Potentials for timing only: an ACE of a chosen basis with random coefficients.

What an ACE costs in LAMMPS depends on its basis (elements, number of functions,
radial and angular orders, cutoff), not on the fitted coefficient values. A
basis with small random coefficients therefore times like a fitted model of the
same size, which lets users price a basis before fitting it and lets tests time
ACE without a fit. Such a model is not physical: use it for speed, never for
survival or accuracy.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from simkit.errors import BackendSetupError


def random_ace(
    path: Path,
    elements: Sequence[str],
    *,
    functions_per_element: int = 30,
    nradmax_by_orders: Sequence[int] = (8, 4, 3),
    lmax_by_orders: Sequence[int] = (0, 3, 2),
    rcut_A: float = 5.0,
    seed: int = 0,
) -> Path:
    """Write a ``.yace`` with pyace's basis construction and random coefficients (std 0.05)."""
    try:  # lazy: pyace is the optional ACE extra
        from pyace import ACEBBasisSet, create_multispecies_basis_config
    except ImportError as exc:
        raise BackendSetupError(f"building an ACE basis needs python-ace (pyace): {exc}") from exc
    basis = create_multispecies_basis_config({
        "deltaSplineBins": 0.001,
        "elements": list(elements),
        "embeddings": {"ALL": {"npot": "FinnisSinclairShiftedScaled", "fs_parameters": [1, 1, 1, 0.5], "ndensity": 2}},
        "bonds": {"ALL": {"radbase": "SBessel", "radparameters": [5.25], "rcut": float(rcut_A), "dcut": 0.01}},
        "functions": {"number_of_functions_per_element": int(functions_per_element),
                      "ALL": {"nradmax_by_orders": list(nradmax_by_orders), "lmax_by_orders": list(lmax_by_orders)}},
    })
    rng = np.random.default_rng(seed)
    for block in basis.funcspecs_blocks:
        block.set_func_coeffs(rng.normal(0.0, 0.05, size=len(block.get_func_coeffs())))
        radial = np.array(block.radcoefficients)
        if radial.size:
            # Near-identity radial mixing keeps every radial function in play, as after a fit.
            identity = np.eye(radial.shape[0], radial.shape[2])[:, None, :]
            block.radcoefficients = (identity + 0.1 * rng.normal(size=radial.shape)).tolist()
    ACEBBasisSet(basis).to_ACECTildeBasisSet().save_yaml(str(path))
    return Path(path)
