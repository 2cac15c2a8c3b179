"""The package's floors: no module imports a package above its own floor.

Floors, lowest first (README.md "Layout" says what lives on each):

- ground: ``errors``, ``units``, ``runtime`` (MPI, launcher table, paths, hashing, durable files,
  locks, logs, provenance)
- formats: ``config`` (validated data), ``io`` (H5MD, .yace), ``structures`` (cells, devices, blocks)
- engine: ``lammps`` (the session, potentials, regions, observables)
- data: ``datasets``, ``analysis``
- workflows: ``fitting``, ``scoring``, ``screening``, ``bench``, ``distil``, ``drivers``,
  ``diffusion``, ``ace``, ``optimise``, ``radiation``, ``validation``, ``learn`` (may use each other)
- top: ``demo``, ``cli``

Every import counts, also one inside a function: a lazy import is still a dependency.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "simkit"

FLOORS = [
    {"errors", "units", "runtime", "__init__", "__main__"},
    {"config", "io", "structures"},
    {"lammps"},
    {"datasets", "analysis"},
    {"fitting", "scoring", "screening", "bench", "distil", "drivers", "diffusion", "ace", "optimise", "radiation",
     "validation", "learn"},
    {"demo", "cli"},
]

# (importing module, imported module) pairs that may go up, each with its reason. Keep it short.
ALLOWED: dict[tuple[str, str], str] = {}


def _floor(package: str) -> int:
    for index, members in enumerate(FLOORS):
        if package in members:
            return index
    raise AssertionError(f"simkit.{package} is on no floor: add it to FLOORS in {__file__} and to README.md")


def _package(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _module_name(path: Path) -> str:
    relative = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(relative.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1] or parts
    return ".".join(parts)


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
            # ``from simkit import x`` imports the subpackage x, if x is one (else a name, e.g. __version__)
            if node.module == "simkit":
                found += [(node.lineno, f"simkit.{alias.name}") for alias in node.names
                          if (PACKAGE / alias.name).is_dir() or (PACKAGE / f"{alias.name}.py").is_file()]
    return [(line, name) for line, name in found if name == "simkit" or name.startswith("simkit.")]


def _violations() -> list[str]:
    problems = []
    for path in sorted(PACKAGE.rglob("*.py")):
        module = _module_name(path)
        own = _floor(_package(module))
        for line, imported in _imports(path):
            if imported == "simkit":
                continue
            target = _package(imported)
            if _floor(target) > own and (module, imported) not in ALLOWED:
                problems.append(f"{path.relative_to(PACKAGE.parent)}:{line}: {module} (floor {own}) imports "
                                f"{imported} (floor {_floor(target)})")
    return problems


def test_every_package_is_on_a_floor():
    packages = {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").is_file()}
    packages |= {p.stem for p in PACKAGE.glob("*.py")}
    for package in sorted(packages):
        _floor(package)


def test_no_module_imports_a_package_above_its_floor():
    problems = _violations()
    assert not problems, "imports going up a floor:\n" + "\n".join(problems)


def test_the_allow_list_has_no_stale_entries():
    used = set()
    for path in PACKAGE.rglob("*.py"):
        module = _module_name(path)
        used |= {(module, imported) for _, imported in _imports(path)}
    stale = sorted(set(ALLOWED) - used)
    assert not stale, f"remove these from ALLOWED: {stale}"


@pytest.mark.parametrize("source, expected", [
    ("from simkit.cli.main import main\n", ["simkit.cli.main"]),
    ("def f():\n    import simkit.demo.runner\n", ["simkit.demo.runner"]),
    ("from simkit import drivers, __version__\n", ["simkit", "simkit.drivers"]),
    ("import numpy\nfrom . import sibling\n", []),
])
def test_the_checker_sees_every_kind_of_import(tmp_path, source, expected):
    path = tmp_path / "probe.py"
    path.write_text(source)
    assert [name for _, name in _imports(path)] == expected


def test_an_upward_import_is_reported(tmp_path, monkeypatch):
    package = tmp_path / "simkit"
    (package / "lammps").mkdir(parents=True)
    (package / "lammps" / "__init__.py").write_text("")
    (package / "lammps" / "probe.py").write_text("def f():\n    from simkit.demo.runner import run_demo\n")
    monkeypatch.setattr(__import__(__name__, fromlist=["PACKAGE"]), "PACKAGE", package)
    assert _violations() == [
        "simkit/lammps/probe.py:2: simkit.lammps.probe (floor 2) imports simkit.demo.runner (floor 5)"
    ]
