"""Active sets of ACE potentials: the D-optimality extrapolation grade.

For an ACE potential with B-basis functions B_k (k < K per element), every atomic
environment i has a projection vector b_i = (B_1(i), ..., B_K(i)). From the
environments of the training data, an active set of K of them is chosen whose
K x K matrix A (one row per chosen environment) has (locally) maximal |det A|
(the maxvol algorithm: Goreinov, Oseledets, Savostyanov, Tyrtyshnikov,
Zamarashkin and Zamarashkin, "How to find a good submatrix", 2010). The
extrapolation grade of any environment is then (Lysogorskiy et al., npj Comput.
Mater. 9, 174 (2023)):

    gamma_i = max_j |(b_i A^-1)_j|

gamma <= 1 means the environment is an interpolation of the active set; gamma
well above 1 (typically > 2 to 10) means the potential is extrapolating.

The projections are linear B-projections (pacemaker's default, not the
linearised non-linear embedding): they do not depend on the fitted coefficients.
pyace evaluates them here; simkit selects the active set with its own maxvol,
and the pace plugin evaluates gamma during MD from the file
:func:`write_plugin_file` writes (the B-basis functions with their generalised
Clebsch-Gordan coefficients and A^-1 for every element).
"""

from __future__ import annotations

import io
import math
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
from ase import Atoms

from simkit.errors import InputDataError
from simkit.runtime.files import atomic_write_bytes, atomic_write_text

PLUGIN_FORMAT = "simkit-activeset-1"
# The plugin reads the inverses after this line, one element block at a time
# (a name line, then K*K numbers): a plain number stream, not YAML, so a large
# basis does not build a million YAML nodes on every rank.
MATRIX_SENTINEL = "# inverses"


@dataclass(frozen=True)
class ActiveSet:
    """The chosen environments of each element and the inverse of their projection matrix."""

    elements: tuple[str, ...]
    inverse: dict[str, np.ndarray]  # element -> (K, K), gamma = max |b A^-1|
    rows: dict[str, np.ndarray]  # element -> indices of the chosen environments in that element's projections
    log_volume: dict[str, float]  # element -> log |det A|
    iterations: dict[str, int]


def load_bbasis(path: str | Path):
    """pyace's B-basis (ACEBBasisSet) of a pacemaker potential YAML (not a .yace: the C-tilde
    form merges B-functions, so their projections cannot be recovered from it)."""
    path = Path(path)
    if path.suffix == ".yace":
        raise InputDataError(f"{path}: the extrapolation grade needs the B-basis potential (pacemaker's .yaml, "
                             "e.g. a fit's ace_potential.yaml), not the .yace made from it")
    # lazy: pyace is heavy to import and only this command needs it
    from pyace import ACEBBasisSet, BBasisConfiguration

    try:
        return ACEBBasisSet(BBasisConfiguration(str(path)))
    except Exception as exc:  # noqa: BLE001 - pyace raises RuntimeError/ValueError/yaml errors alike
        raise InputDataError(f"{path}: not a readable pacemaker B-basis potential ({exc})") from exc


def projections(bbasis, structures: Sequence[Atoms]) -> dict[str, np.ndarray]:
    """Linear B-projections of every atom of ``structures``, per element: (n_atoms, K)."""
    from pyace.activelearning import compute_B_projections  # lazy: see load_bbasis

    known = set(bbasis.elements_name)
    for index, atoms in enumerate(structures):
        unknown = sorted(set(atoms.get_chemical_symbols()) - known)
        if unknown:
            raise InputDataError(f"structure {index}: element(s) {unknown} are not in the potential "
                                 f"({sorted(known)})")
    by_type = compute_B_projections(bbasis, list(structures))
    names = bbasis.elements_name
    return {names[t]: np.asarray(values, dtype=float) for t, values in by_type.items()}


def maxvol(matrix: np.ndarray, *, tolerance: float = 1.001, max_iterations: int = 1000) -> tuple[np.ndarray, int]:
    """Rows of ``matrix`` (n x K, n >= K) whose K x K submatrix has locally maximal |det|.

    Starts from the rows a column-pivoted QR of matrix^T picks (a well-conditioned
    choice), then swaps in the row with the largest |coefficient| in the current
    basis while that exceeds ``tolerance``: each swap multiplies |det| by it.
    Returns the row indices and the number of swaps.
    """
    import scipy.linalg  # lazy: scipy is only needed here

    n, k = matrix.shape
    if n < k:
        raise ValueError(f"{n} environments for {k} functions")
    _, _, pivots = scipy.linalg.qr(matrix.T, mode="economic", pivoting=True)
    rows = np.array(pivots[:k])
    coefficients = np.linalg.solve(matrix[rows].T, matrix.T).T  # matrix = coefficients @ matrix[rows]
    swaps = 0
    for swaps in range(max_iterations + 1):
        i, j = np.unravel_index(np.argmax(np.abs(coefficients)), coefficients.shape)
        pivot = coefficients[i, j]
        if abs(pivot) <= tolerance or swaps == max_iterations:
            break
        # Sherman-Morrison update of the coefficients for row i replacing rows[j]
        column = coefficients[:, j].copy()
        row = coefficients[i].copy()
        row[j] -= 1.0
        coefficients -= np.outer(column / pivot, row)
        rows[j] = i
    return rows, swaps


def select_active_set(by_element: dict[str, np.ndarray], elements: Sequence[str], *,
                      tolerance: float = 1.001, max_iterations: int = 1000) -> ActiveSet:
    """:func:`maxvol` per element, with the inverse of each chosen matrix."""
    inverse, rows, volume, iterations = {}, {}, {}, {}
    for element in elements:
        matrix = by_element.get(element)
        if matrix is None or len(matrix) == 0:
            raise InputDataError(f"no atom of element {element} in the structures: its active set cannot be built")
        n, k = matrix.shape
        if n < k:
            raise InputDataError(f"element {element}: {n} atomic environments in the structures but {k} basis "
                                 f"functions; the active set needs at least {k} (add structures)")
        chosen, swaps = maxvol(matrix, tolerance=tolerance, max_iterations=max_iterations)
        square = matrix[chosen]
        sign, logdet = np.linalg.slogdet(square)
        if sign == 0 or not math.isfinite(logdet):
            raise InputDataError(f"element {element}: the projections of the structures are linearly dependent "
                                 "(rank < number of functions); add more varied structures")
        inverse[element] = np.linalg.inv(square)
        rows[element], volume[element], iterations[element] = chosen, float(logdet), swaps
    return ActiveSet(tuple(elements), inverse, rows, volume, iterations)


def extrapolation_grade(by_element: dict[str, np.ndarray], active: ActiveSet) -> dict[str, np.ndarray]:
    """gamma of every projection row, per element."""
    return {el: np.abs(values @ active.inverse[el]).max(axis=1) if len(values) else np.zeros(0)
            for el, values in by_element.items()}


def write_asi(path: Path, active: ActiveSet) -> Path:
    """pacemaker's ``.asi`` layout (an ``.npz`` of A^-1 keyed by element name), for its tools."""
    buffer = io.BytesIO()
    np.savez(buffer, **{el: active.inverse[el] for el in active.elements})
    return atomic_write_bytes(path, buffer.getvalue())


def read_asi(path: Path, bbasis) -> ActiveSet:
    """An active set pacemaker's ``pace_activeset`` wrote for ``bbasis`` (only A^-1 is in the file)."""
    try:
        with np.load(path, allow_pickle=False) as data:
            inverse = {key: np.asarray(data[key], dtype=float) for key in data.files}
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise InputDataError(f"{path}: not an active-set (.asi) file: {exc}") from exc
    names = tuple(bbasis.elements_name)
    if sorted(inverse) != sorted(names):
        raise InputDataError(f"{path}: holds elements {sorted(inverse)}, the potential has {sorted(names)}")
    sizes = function_counts(bbasis)
    for element in names:
        matrix = inverse[element]
        k = sizes[element]
        if matrix.shape != (k, k) or not np.isfinite(matrix).all():
            raise InputDataError(f"{path}: element {element}: expected a finite {k} x {k} inverse (the potential "
                                 f"has {k} functions), got shape {matrix.shape}")
    return ActiveSet(names, inverse, {}, {el: -float(np.linalg.slogdet(inverse[el])[1]) for el in names}, {})


def function_counts(bbasis) -> dict[str, int]:
    """Number of B-functions (projection length) of each element."""
    return {el: len(bbasis.basis_rank1[t]) + len(bbasis.basis[t]) for t, el in enumerate(bbasis.elements_name)}


def write_plugin_file(path: Path, bbasis, active: ActiveSet) -> Path:
    """The file ``pair_style pace ... activeset FILE`` reads: B-functions and A^-1 per element.

    Layout: a YAML header (format, elements, and per element its functions in
    pyace's order, rank-1 first, each with mus (element indices into
    ``elements``), ns (1-based), ls and the flattened ms_combs and gen_cgs of
    its m-combinations), then a line ``# inverses``, then per element a line
    with its name and K*K numbers of A^-1, row-major (gamma_j = |sum_k B_k
    Ainv[k][j]|).
    """
    names = list(bbasis.elements_name)
    lines = [f"format: {PLUGIN_FORMAT}", f"elements: [{', '.join(names)}]", "functions:"]
    for t, element in enumerate(names):
        lines.append(f"  {element}:")
        for f in list(bbasis.basis_rank1[t]) + list(bbasis.basis[t]):
            ms = [m for comb in f.ms_combs for m in comb]
            lines.append(
                f"    - {{rank: {f.rank}, mus: {list(f.mus)}, ns: {list(f.ns)}, ls: {list(f.ls)}, "
                f"num_ms_combs: {len(f.ms_combs)}, ms_combs: {ms}, gen_cgs: [{', '.join(map(repr, f.gen_cgs))}]}}")
    lines.append(MATRIX_SENTINEL)
    for element in names:
        matrix = active.inverse[element]
        lines.append(f"{element} {matrix.shape[0]}")
        lines.extend(" ".join(map(repr, row.tolist())) for row in matrix)
    atomic_write_text(path, "\n".join(lines) + "\n")
    return path


def build_files(model: Path, bbasis, structures: Sequence[Atoms], output_stem: Path, *, tolerance: float = 1.001,
                from_asi: Path | None = None) -> dict:
    """``simkit ace activeset``: select (or read) the active set, write ``<stem>.asi`` and
    ``<stem>.activeset``, and return a summary (per element: functions, environments,
    log |det A|, swaps and the largest gamma over the given structures). ``bbasis``: :func:`load_bbasis`
    of ``model``."""
    if not tolerance >= 1.0:
        raise InputDataError(f"--tolerance must be at least 1 (gamma of the chosen set), got {tolerance}")
    by_element = projections(bbasis, structures) if structures else {}
    if from_asi is not None:
        active = read_asi(from_asi, bbasis)
    else:
        active = select_active_set(by_element, bbasis.elements_name, tolerance=tolerance)
    grades = extrapolation_grade(by_element, active) if by_element else {}
    asi = output_stem.with_name(output_stem.name + ".asi")
    plugin = output_stem.with_name(output_stem.name + ".activeset")
    if from_asi is None:
        write_asi(asi, active)
    write_plugin_file(plugin, bbasis, active)
    counts = function_counts(bbasis)
    return {
        "model": str(model),
        "asi": str(from_asi if from_asi is not None else asi),
        "activeset": str(plugin),
        "selected_by": "pace_activeset (read)" if from_asi is not None else f"simkit maxvol (tolerance {tolerance})",
        "elements": {el: {
            "functions": counts[el],
            "environments": int(len(by_element.get(el, ()))),
            "log_abs_det": active.log_volume[el],
            "swaps": active.iterations.get(el),
            "max_gamma_of_structures": float(grades[el].max()) if el in grades and len(grades[el]) else None,
        } for el in active.elements},
    }
