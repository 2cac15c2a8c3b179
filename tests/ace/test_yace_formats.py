"""Reading .yace files: the Python reader and the plugin's own YAML-subset parser.

pacemaker writes flow style; a hand-edited file may use block style, comments,
quotes and flow lists spread over several lines.  The plugin must read both to
the same potential.
"""

from __future__ import annotations

import numpy as np
import pytest

from simkit.ace.check import evaluate_lammps
from simkit.errors import InputDataError
from simkit.io.yace import load_yace
from tests.ace import helpers


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    path = tmp_path_factory.mktemp("formats") / "sige.yace"
    return helpers.random_model(path, ("Si", "Ge"), 30, [6, 3, 2], [0, 2, 1], core=(10.0, 1.0), inner=(1.9, 0.2),
                                seed=5)


def _scalar(v) -> str:
    if isinstance(v, str):
        return f'"{v}"' if v.startswith("Finnis") else f"'{v}'"
    return repr(v)


def _flow(v) -> str:
    if isinstance(v, list):
        return "[" + ", ".join(_flow(x) for x in v) + "]"
    return _scalar(v)


def block_style(raw: dict) -> str:
    """Re-emit a parsed .yace in block style with comments, quotes and wrapped lists."""
    lines = ["# hand-edited variant of a pacemaker potential", "---"]
    lines.append(f"elements:  # {len(raw['elements'])} species")
    lines += [f"  - {el}" for el in raw["elements"]]
    lines.append(f"E0: {_flow(raw['E0'])}")
    lines.append(f"deltaSplineBins: {raw['deltaSplineBins']!r}")
    lines.append("embeddings:")
    for mu, emb in raw["embeddings"].items():
        lines.append(f"  {mu}:")
        lines += [f"    {k}: {_flow(v)}" for k, v in emb.items()]
    lines.append("bonds:")
    for key, bond in raw["bonds"].items():
        lines.append(f"  [{key[0]}, {key[1]}]:   # bond {key}")
        for k, v in bond.items():
            if k == "radcoefficients":
                # one radial function per line inside a multi-line flow list
                rows = ",\n      ".join(_flow(row) for row in v)
                lines.append(f"    {k}: [\n      {rows}\n    ]")
            else:
                lines.append(f"    {k}: {_flow(v)}")
    lines.append("functions:")
    for mu, funcs in raw["functions"].items():
        lines.append(f"  {mu}:")
        for f in funcs:
            items = list(f.items())
            lines.append(f"    - {items[0][0]}: {_flow(items[0][1])}")
            lines += [f"      {k}: {_flow(v)}" for k, v in items[1:]]
    return "\n".join(lines) + "\n"


def _raw(path):
    import yaml

    from simkit.io.yace import _YaceLoader

    return yaml.load(path.read_text(), Loader=_YaceLoader)  # noqa: S506 - safe loader subclass


def test_block_style_file_gives_the_same_potential(model, tmp_path):
    edited = tmp_path / "block.yace"
    edited.write_text(block_style(_raw(model)))
    assert load_yace(edited).elements == load_yace(model).elements
    atoms = helpers.check_structures(model, ("Si", "Ge"), close_A=1.95)["close contact"]
    a = evaluate_lammps(model, atoms, ["Ge", "Si"])
    b = evaluate_lammps(edited, atoms, ["Ge", "Si"])
    assert b.energy_eV == a.energy_eV
    np.testing.assert_array_equal(b.forces_eV_per_A, a.forces_eV_per_A)


def test_python_reader(model):
    m = load_yace(model)
    assert m.elements == ("Ge", "Si")
    assert set(m.bonds) == {(0, 0), (0, 1), (1, 0), (1, 1)}
    assert m.cutoff_A == pytest.approx(5.0)
    bond = m.bonds[(0, 1)]
    assert bond.radcoefficients.shape == (bond.nradmax, bond.lmax + 1, bond.nradbasemax)
    assert bond.prehc == pytest.approx(10.0) and bond.rcut_in_A == pytest.approx(1.9)
    assert m.function_count("Si") == len(m.functions[1]) > 0
    f = next(f for f in m.functions[0] if f.rank == 3)
    assert f.ms_combs.shape[1] == 3 and f.ctildes.shape == (f.ms_combs.shape[0], f.ndensity)


@pytest.mark.parametrize(
    "edit, key",
    [
        (lambda t: t.replace("elements: [Ge, Si]", "elements: []"), "elements"),
        (lambda t: t.replace("deltaSplineBins: 0.001", "deltaSplineBins: -1"), "deltaSplineBins"),
        (lambda t: t.replace("E0: [0, 0]", "E0: [0]"), "E0"),
        (lambda t: t.replace("[1, 1]: {", "[1, 2]: {", 1), "bonds.[1, 1]"),
        (lambda t: t.replace("ndensity: 2, FS_parameters: [1, 1, 1, 0.5]", "ndensity: 2, FS_parameters: [1, 1]", 1),
         "embeddings.0.FS_parameters"),
        (lambda t: t.replace("mu0: 0, rank: 2", "mu0: 1, rank: 2", 1), ".mu0"),
    ],
)
def test_python_reader_names_the_key(model, tmp_path, edit, key):
    text = model.read_text()
    broken = tmp_path / "broken.yace"
    broken.write_text(edit(text))
    assert broken.read_text() != text, "the edit did not apply"
    with pytest.raises(InputDataError, match=str(broken).replace(".", r"\.") + r": `[^`]*" + key.replace(".", r"\.")
                       .replace("[", r"\[").replace("]", r"\]")):
        load_yace(broken)
