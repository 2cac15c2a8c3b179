"""When a diffusion quantity means nothing, and how the summaries say so.

**Convention** (``diffusion.json``, ``arrhenius.json`` and the run summaries):

* a quantity that was asked for but cannot mean anything here is written as ``null``, and the key
  ``<key>_undefined`` next to it holds the reason, one sentence: ``"haven_ratio": null,
  "haven_ratio_undefined": "one species (Cu) in the system: ..."``;
* in a mapping keyed by species (the Arrhenius fits) an undefined entry is left out, and the
  mapping ``<mapping>_undefined`` gives each left-out species its reason, so every entry present
  is a number;
* a key that is absent was not asked for (``analysis.collective: false``, no ``conductivity`` block);
* NaN and infinity are never written to JSON;
* CSV tables keep their numeric columns (NaN where undefined) and add a text column
  ``<quantity>_undefined`` holding the reason (empty where the number is defined).

**Rules** (:func:`collective_reason`, :func:`charge_reason`, :func:`ratio_reason`):

1. *One species in the system*: its centre of mass is fixed by momentum conservation (or, with a
   Langevin thermostat, moved by the thermostat's noise alone), so its collective diffusion, a
   charge current carried by it alone, and both Haven ratios mean nothing.
2. *No charge*: with every charge 0 there is no charge current.
3. *Centre at rest*: a collective coordinate whose MSD grows by less than :data:`AT_REST_FRACTION`
   of what the same atoms would give moving independently has not moved; what is left is
   floating-point rounding. This is rule 1 seen from the trajectory alone, when the species of
   the whole system are not known (a trajectory may hold only some of them).
4. *Ratio over zero*: a Haven ratio divides by a collective quantity; when that is not above zero
   by :data:`SIGNIFICANCE_SIGMA` standard errors (or has no error), the ratio's interval is
   unbounded and the ratio is undefined. The collective D or charge conductivity itself is still
   reported: a value consistent with zero, with its error bar, is a measurement (an insulator).
"""

from __future__ import annotations

import math
from collections.abc import Collection
from typing import Any

# Rule 3: a real collective coordinate moves like its atoms to within a factor of order 1 (the Haven
# ratio); float rounding of a fixed centre gives 1e-20 and less. Anything between is far from both.
AT_REST_FRACTION = 1e-9
# Rule 4: below two standard errors the 95 % interval of the denominator includes zero.
SIGNIFICANCE_SIGMA = 2.0
SUFFIX = "_undefined"


def put(data: dict, key: str, value: Any, reason: str | None) -> None:
    """``data[key] = value``; or, with a ``reason``, ``null`` there and the reason at ``key + "_undefined"``."""
    if reason is None:
        data[key] = value
    else:
        data[key] = None
        data[key + SUFFIX] = reason


def finite_or_reason(data: dict, key: str, value: float, reason: str) -> None:
    """:func:`put` for a number that is NaN or infinite exactly when ``reason`` applies."""
    put(data, key, float(value), None if math.isfinite(value) else reason)


def one_species(system_species: Collection[str] | None) -> str | None:
    """Rule 1's reason when the system holds one species, else None (also when its species are not known)."""
    if system_species is None or len(set(system_species)) != 1:
        return None
    name = next(iter(system_species))
    return (f"one species ({name}) in the system: its centre of mass is fixed by momentum conservation "
            "(or moved only by a Langevin thermostat's noise), so collective transport is undefined")


def _at_rest(centre: str, quantity: str, value: float, error: float, independent: float, unit: str) -> str | None:
    size = abs(value) + (abs(error) if math.isfinite(error) else 0.0)
    scale = abs(independent)
    if not math.isfinite(size) or not math.isfinite(scale) or scale == 0.0 or size > AT_REST_FRACTION * scale:
        return None
    return (f"{centre} did not move: {quantity} = {value:.1e} {unit} is {size / scale:.0e} of what independent "
            "atoms give, floating-point rounding of a centre that momentum conservation holds still (one species "
            "in the system), so collective transport is undefined")


def collective_reason(species: str, system_species: Collection[str] | None, D_A2_per_ps: float,
                      D_err_A2_per_ps: float, tracer_D_A2_per_ps: float) -> str | None:
    """Why the collective (centre-of-species) D of ``species`` is undefined (rules 1, 3), or None."""
    return one_species(system_species) or _at_rest(
        f"the centre of the {species} atoms", "the collective D", D_A2_per_ps, D_err_A2_per_ps, tracer_D_A2_per_ps,
        "Å²/ps")


def charge_reason(charged_species: Collection[str], system_species: Collection[str] | None,
                  sigma_S_per_cm: float | None = None, sigma_err_S_per_cm: float = math.nan,
                  independent_S_per_cm: float = math.nan) -> str | None:
    """Why the charge-current conductivity is undefined (rules 2, 1, 3), or None.

    ``independent_S_per_cm`` is what uncorrelated ions would give (Nernst-Einstein with H = 1).
    """
    if not charged_species:
        return "every charge is 0: there is no charge current"
    reason = one_species(system_species)
    if reason or sigma_S_per_cm is None:
        return reason
    return _at_rest("the charge centre", "the charge-current conductivity", sigma_S_per_cm, sigma_err_S_per_cm,
                    independent_S_per_cm, "S/cm")


def ratio_reason(denominator: str, value: float, error: float, unit: str) -> str | None:
    """Why a ratio over ``denominator`` (value ± error) is undefined (rule 4), or None."""
    if not math.isfinite(error):
        return f"{denominator} = {value:.3g} {unit} has no uncertainty, so it cannot be told from zero"
    if value > SIGNIFICANCE_SIGMA * error:
        return None
    return (f"{denominator} = {value:.3g} ± {error:.2g} {unit} is not above zero by {SIGNIFICANCE_SIGMA:g} "
            "standard errors, so the ratio is unbounded")
