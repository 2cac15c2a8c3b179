"""Read and validate ``.yace`` ACE potential files (the C-tilde format pacemaker writes).

``pace_yaml2yace`` writes bonds under flow-sequence keys (``[0, 1]: {...}``),
which a plain safe YAML loader refuses because lists are unhashable; the loader
here turns such keys into tuples and is otherwise as strict as ``safe_load``.
Validation mirrors what the LAMMPS plugin checks so that ``simkit ace check``
reports a broken file with the same key names before LAMMPS is started.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from simkit.config.loader import too_deep_at_line
from simkit.errors import InputDataError

RADIAL_BASES = ("SBessel", "ChebExpCos", "ChebPow")
EMBEDDINGS = ("FinnisSinclair", "FinnisSinclairShiftedScaled")
INNER_CUTOFF_TYPES = ("distance", "density", "zbl")

_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# A .yace nests at most 6 levels (bonds -> [i, j] -> radcoefficients[n][l][k]). Deeper
# files are refused before they are built: libyaml builds nodes by recursing in C, and
# a file nested ~100,000 levels deep crashes the interpreter rather than raising.
MAX_NESTING = 64
# The plugin tabulates every bond on rcut/deltaSplineBins spline points (as pacemaker's
# evaluator does). More than 1e7 points (rcut 10 Å at 1e-6 Å; pacemaker writes 0.001)
# is far past any useful resolution and costs gigabytes; past 2**31 the count overflowed.
# The plugin refuses the same files (kMaxSplineBins in simkit/native/pace/ace_model.h).
MAX_SPLINE_BINS = 10_000_000


class _YaceLoader(_BaseLoader):  # type: ignore[misc, valid-type]
    """Safe loader whose mapping keys may be flow sequences (read as tuples)."""

    def construct_mapping(self, node, deep=False):  # noqa: D401 - YAML hook
        if isinstance(node, yaml.MappingNode):
            for key_node, _ in node.value:
                if isinstance(key_node, yaml.SequenceNode):
                    key_node.tag = "tag:yaml.org,2002:python/tuple"
        return super().construct_mapping(node, deep=True)

    def construct_yace_tuple(self, node):
        return tuple(self.construct_sequence(node, deep=True))


_YaceLoader.add_constructor("tag:yaml.org,2002:python/tuple", _YaceLoader.construct_yace_tuple)


@dataclass(frozen=True)
class Embedding:
    ndensity: int
    fs_parameters: tuple[float, ...]
    npoti: str
    rho_core_cutoff: float
    drho_core_cutoff: float


@dataclass(frozen=True)
class Bond:
    nradmax: int
    lmax: int
    nradbasemax: int
    radbasename: str
    radparameters: tuple[float, ...]
    radcoefficients: np.ndarray  # shape (nradmax, lmax + 1, nradbasemax)
    prehc: float
    lambdahc: float
    rcut_A: float
    dcut_A: float
    rcut_in_A: float
    dcut_in_A: float
    inner_cutoff_type: str


@dataclass(frozen=True)
class Function:
    mu0: int
    rank: int
    ndensity: int
    mus: tuple[int, ...]
    ns: tuple[int, ...]
    ls: tuple[int, ...]
    ms_combs: np.ndarray  # shape (num_ms_combs, rank)
    ctildes: np.ndarray  # shape (num_ms_combs, ndensity)


@dataclass(frozen=True)
class YaceModel:
    path: Path
    elements: tuple[str, ...]
    e0_eV: tuple[float, ...]
    delta_spline_bins_A: float
    embeddings: dict[int, Embedding]
    bonds: dict[tuple[int, int], Bond]
    functions: dict[int, list[Function]]

    @property
    def cutoff_A(self) -> float:
        """Largest bond cutoff: the neighbour-list cutoff LAMMPS needs."""
        return max(b.rcut_A for b in self.bonds.values())

    @property
    def max_rank(self) -> int:
        return max((f.rank for fs in self.functions.values() for f in fs), default=0)

    @property
    def max_lmax(self) -> int:
        return max(b.lmax for b in self.bonds.values())

    def function_count(self, element: str) -> int:
        return len(self.functions.get(self.elements.index(element), []))


class _Where:
    """Builds 'file: key' prefixes so every error names what was wrong and where."""

    def __init__(self, path: Path):
        self.path = path

    def fail(self, key: str, problem: str) -> InputDataError:
        return InputDataError(f"{self.path}: `{key}`: {problem}")

    def get(self, mapping: Any, key: str, context: str) -> Any:
        if not isinstance(mapping, dict):
            raise self.fail(context, "expected a mapping")
        if key not in mapping:
            raise self.fail(f"{context}.{key}" if context else key, "missing")
        return mapping[key]

    def number(self, value: Any, key: str) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.fail(key, f"expected a number, got {value!r}")
        if not np.isfinite(value):
            raise self.fail(key, f"expected a finite number, got {value!r}")
        return float(value)

    def integer(self, value: Any, key: str, minimum: int = 0) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(key, f"expected an integer, got {value!r}")
        if value < minimum:
            raise self.fail(key, f"expected an integer >= {minimum}, got {value}")
        return int(value)

    def numbers(self, value: Any, key: str) -> tuple[float, ...]:
        if not isinstance(value, list):
            raise self.fail(key, f"expected a list of numbers, got {value!r}")
        return tuple(self.number(v, f"{key}[{i}]") for i, v in enumerate(value))

    def integers(self, value: Any, key: str, minimum: int = 0) -> tuple[int, ...]:
        if not isinstance(value, list):
            raise self.fail(key, f"expected a list of integers, got {value!r}")
        return tuple(self.integer(v, f"{key}[{i}]", minimum) for i, v in enumerate(value))


def load_yace(path: str | Path) -> YaceModel:
    """Parse and validate a ``.yace`` file; raise :class:`InputDataError` naming file and key."""
    path = Path(path)
    where = _Where(path)
    doc = _read_document(path)
    if not isinstance(doc, dict):
        raise where.fail("", "expected a mapping at the top level")

    elements = where.get(doc, "elements", "")
    if not isinstance(elements, list) or not elements or not all(isinstance(e, str) for e in elements):
        raise where.fail("elements", f"expected a non-empty list of element names, got {elements!r}")
    nel = len(elements)
    e0 = where.numbers(doc.get("E0", [0.0] * nel), "E0")
    if len(e0) != nel:
        raise where.fail("E0", f"expected {nel} values (one per element), got {len(e0)}")
    dsb = where.number(where.get(doc, "deltaSplineBins", ""), "deltaSplineBins")
    if dsb <= 0:
        raise where.fail("deltaSplineBins", f"must be positive, got {dsb}")

    embeddings = _read_embeddings(where, where.get(doc, "embeddings", ""), nel)
    bonds = _read_bonds(where, where.get(doc, "bonds", ""), nel)
    rcut = max(b.rcut_A for b in bonds.values())
    if rcut / dsb > MAX_SPLINE_BINS:
        raise where.fail("deltaSplineBins", f"{dsb:g} Å gives {rcut / dsb:.3g} spline points up to rcut {rcut:g} Å; "
                                            f"at most {MAX_SPLINE_BINS:.0e} are allowed (pacemaker writes 0.001)")
    functions = _read_functions(where, where.get(doc, "functions", ""), nel, embeddings, bonds)
    return YaceModel(path, tuple(elements), e0, dsb, embeddings, bonds, functions)


def _read_document(path: Path) -> Any:
    """The YAML content of ``path``; unreadable, non-UTF-8, malformed or over-nested files are refused."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputDataError(f"{path}: cannot read ACE potential ({exc.strerror})") from exc
    except UnicodeDecodeError as exc:
        raise InputDataError(f"{path}: not a text file (byte {exc.object[exc.start]:#04x} at offset {exc.start} "
                             "is not UTF-8); a .yace potential is YAML text") from exc
    try:
        _check_nesting(path, text)
        return yaml.load(text, Loader=_YaceLoader)  # noqa: S506 - safe loader subclass
    except yaml.YAMLError as exc:
        raise InputDataError(f"{path}: not valid YAML: {' '.join(str(exc).split())}") from exc


def _check_nesting(path: Path, text: str) -> None:
    line = too_deep_at_line(text, _YaceLoader, MAX_NESTING)
    if line is not None:
        raise InputDataError(f"{path}: line {line}: nested more than {MAX_NESTING} levels deep; not an ACE potential")


def _read_embeddings(where: _Where, raw: Any, nel: int) -> dict[int, Embedding]:
    if not isinstance(raw, dict):
        raise where.fail("embeddings", "expected a mapping from element index to embedding")
    out = {}
    for mu in range(nel):
        if mu not in raw:
            raise where.fail(f"embeddings.{mu}", "missing")
        key = f"embeddings.{mu}"
        e = raw[mu]
        ndensity = where.integer(where.get(e, "ndensity", key), f"{key}.ndensity", 1)
        fs = where.numbers(where.get(e, "FS_parameters", key), f"{key}.FS_parameters")
        if len(fs) != 2 * ndensity:
            raise where.fail(f"{key}.FS_parameters", f"expected 2*ndensity = {2 * ndensity} values, got {len(fs)}")
        npoti = where.get(e, "npoti", key)
        if npoti not in EMBEDDINGS:
            raise where.fail(f"{key}.npoti", f"unknown embedding {npoti!r}; expected one of {', '.join(EMBEDDINGS)}")
        rho_cut = where.number(where.get(e, "rho_core_cutoff", key), f"{key}.rho_core_cutoff")
        drho_cut = where.number(where.get(e, "drho_core_cutoff", key), f"{key}.drho_core_cutoff")
        out[mu] = Embedding(ndensity, fs, npoti, rho_cut, drho_cut)
    return out


def _read_bonds(where: _Where, raw: Any, nel: int) -> dict[tuple[int, int], Bond]:
    if not isinstance(raw, dict):
        raise where.fail("bonds", "expected a mapping from [mu_i, mu_j] to bond")
    out = {}
    for mu_i in range(nel):
        for mu_j in range(nel):
            if (mu_i, mu_j) not in raw:
                raise where.fail(f"bonds.[{mu_i}, {mu_j}]", "missing")
            out[(mu_i, mu_j)] = _read_bond(where, raw[(mu_i, mu_j)], f"bonds.[{mu_i}, {mu_j}]")
    return out


def _read_bond(where: _Where, b: Any, key: str) -> Bond:
    g = lambda name: where.get(b, name, key)  # noqa: E731
    nradmax = where.integer(g("nradmax"), f"{key}.nradmax")
    lmax = where.integer(g("lmax"), f"{key}.lmax")
    nradbase = where.integer(g("nradbasemax"), f"{key}.nradbasemax")
    name = g("radbasename")
    if name not in RADIAL_BASES:
        raise where.fail(f"{key}.radbasename", f"unknown radial basis {name!r}; expected one of {', '.join(RADIAL_BASES)}")
    params = where.numbers(g("radparameters"), f"{key}.radparameters")
    if name in ("ChebExpCos", "ChebPow") and not params:
        raise where.fail(f"{key}.radparameters", f"{name} needs one parameter (lambda)")
    try:
        crad = np.array(g("radcoefficients"), dtype=float)
    except (TypeError, ValueError) as exc:
        raise where.fail(f"{key}.radcoefficients", f"expected a nested list of numbers ({exc})") from exc
    if nradmax > 0 and crad.shape != (nradmax, lmax + 1, nradbase):
        raise where.fail(
            f"{key}.radcoefficients", f"expected shape [nradmax][lmax+1][nradbasemax] = {[nradmax, lmax + 1, nradbase]}, got {list(crad.shape)}"
        )
    if not np.all(np.isfinite(crad)):
        raise where.fail(f"{key}.radcoefficients", "contains a non-finite value")
    ict = g("inner_cutoff_type")
    if ict not in INNER_CUTOFF_TYPES:
        raise where.fail(f"{key}.inner_cutoff_type", f"unknown {ict!r}; expected one of {', '.join(INNER_CUTOFF_TYPES)}")
    num = lambda name: where.number(g(name), f"{key}.{name}")  # noqa: E731
    rcut = num("rcut")
    if rcut <= 0:
        raise where.fail(f"{key}.rcut", f"must be positive, got {rcut}")
    return Bond(nradmax, lmax, nradbase, name, params, crad, num("prehc"), num("lambdahc"), rcut, num("dcut"),
                num("rcut_in"), num("dcut_in"), ict)


def _read_functions(where: _Where, raw: Any, nel: int, embeddings: dict[int, Embedding],
                    bonds: dict[tuple[int, int], Bond]) -> dict[int, list[Function]]:
    if not isinstance(raw, dict):
        raise where.fail("functions", "expected a mapping from element index to a list of functions")
    out: dict[int, list[Function]] = {}
    for mu0, funcs in raw.items():
        if not isinstance(mu0, int) or not 0 <= mu0 < nel:
            raise where.fail(f"functions.{mu0}", f"element index out of range 0..{nel - 1}")
        if not isinstance(funcs, list):
            raise where.fail(f"functions.{mu0}", "expected a list of functions")
        out[mu0] = [_read_function(where, f, f"functions.{mu0}[{k}]", mu0, nel, embeddings, bonds)
                    for k, f in enumerate(funcs)]
    return out


def _read_function(where: _Where, f: Any, key: str, mu0: int, nel: int,
                   embeddings: dict[int, Embedding], bonds: dict[tuple[int, int], Bond]) -> Function:
    g = lambda name: where.get(f, name, key)  # noqa: E731
    if where.integer(g("mu0"), f"{key}.mu0") != mu0:
        raise where.fail(f"{key}.mu0", f"is {f['mu0']} but the function is listed under element {mu0}")
    rank = where.integer(g("rank"), f"{key}.rank", 1)
    ndensity = where.integer(g("ndensity"), f"{key}.ndensity", 1)
    if ndensity != embeddings[mu0].ndensity:
        raise where.fail(f"{key}.ndensity", f"is {ndensity} but embeddings.{mu0}.ndensity is {embeddings[mu0].ndensity}")
    ncomb = where.integer(g("num_ms_combs"), f"{key}.num_ms_combs", 1)
    mus = where.integers(g("mus"), f"{key}.mus")
    ns = where.integers(g("ns"), f"{key}.ns", 1)
    ls = where.integers(g("ls"), f"{key}.ls")
    for name, seq in (("mus", mus), ("ns", ns), ("ls", ls)):
        if len(seq) != rank:
            raise where.fail(f"{key}.{name}", f"expected rank = {rank} entries, got {len(seq)}")
    for t, mu in enumerate(mus):
        if mu >= nel:
            raise where.fail(f"{key}.mus[{t}]", f"element index {mu} out of range 0..{nel - 1}")
        bond = bonds[(mu0, mu)]
        limit = bond.nradbasemax if rank == 1 else bond.nradmax
        if ns[t] > limit or ls[t] > (0 if rank == 1 else bond.lmax):
            raise where.fail(f"{key}", f"(n, l) = ({ns[t]}, {ls[t]}) exceeds bond [{mu0}, {mu}] limits")
    raw_ms = g("ms_combs")
    if not isinstance(raw_ms, list) or not all(isinstance(m, int) and not isinstance(m, bool) for m in raw_ms):
        raise where.fail(f"{key}.ms_combs", "expected a flat list of integers")
    if len(raw_ms) != ncomb * rank:
        raise where.fail(f"{key}.ms_combs", f"expected num_ms_combs*rank = {ncomb * rank} integers, got {len(raw_ms)}")
    ms = np.array(raw_ms, dtype=int).reshape(ncomb, rank)
    if np.any(np.abs(ms) > np.array(ls)[None, :]):
        raise where.fail(f"{key}.ms_combs", "an m exceeds its l")
    ct = np.array(where.numbers(g("ctildes"), f"{key}.ctildes"))
    if ct.size != ncomb * ndensity:
        raise where.fail(f"{key}.ctildes", f"expected num_ms_combs*ndensity = {ncomb * ndensity} numbers, got {ct.size}")
    return Function(mu0, rank, ndensity, mus, ns, ls, ms, ct.reshape(ncomb, ndensity))
