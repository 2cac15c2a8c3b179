"""Bad potential files: SNAP pairs, setfl EAM and .yace, each broken one way.

The good files are LAMMPS's own (Si_Zuo_JPCA2020 SNAP, Cu_mishin1 and CuZr_mm
EAM) and a random ACE basis from the ACE plugin tests' helpers; the .yace
breakages of tests/ace/test_bad_yace.py are reused as they are. Each case names
the file the error line must name (the one that was broken) and the words it
must contain.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

SEED = 20251121
SNAP = "Si_Zuo_JPCA2020"


@dataclass(frozen=True)
class Case:
    id: str
    kind: str  # snap, eam/alloy, eam/fs, yace, yaml
    files: dict[str, bytes]  # name -> content, written into the case's folder
    potential: str  # the --potential argument (a name in ``files``)
    broken: str  # the file the error must name
    words: tuple[str, ...] = ()


def _garbage(label: str, size: int = 1024) -> bytes:
    rng = random.Random(f"{SEED}:{label}")
    return bytes(rng.randrange(256) for _ in range(size))


def _data_line_index(lines: list[str], skip: int = 0) -> int:
    """Index of the (skip+1)-th line that is neither blank nor a comment."""
    found = [i for i, line in enumerate(lines) if line.strip() and not line.lstrip().startswith("#")]
    return found[skip]


def _replace_line(text: str, skip: int, new: Callable[[str], str]) -> str:
    lines = text.splitlines()
    index = _data_line_index(lines, skip)
    lines[index] = new(lines[index])
    return "\n".join(lines) + "\n"


def _rcutfac(param: str, value: str) -> str:
    return re.sub(r"rcutfac\s+\S+", f"rcutfac {value}", param)


def snap_cases(potentials: Path) -> list[Case]:
    coeff = (potentials / f"{SNAP}.snapcoeff").read_text()
    param = (potentials / f"{SNAP}.snapparam").read_text()
    c, p = "si.snapcoeff", "si.snapparam"

    def case(name, coeff_text=coeff, param_text=param, broken=c, words=(), files=None):
        content = files if files is not None else {
            c: coeff_text if isinstance(coeff_text, bytes) else coeff_text.encode(),
            p: param_text if isinstance(param_text, bytes) else param_text.encode(),
        }
        return Case(f"snap:{name}", "snap", content, c, broken, words)

    return [
        case("coeff-truncated", coeff[: len(coeff) // 2], words=("coefficients",)),
        case("coeff-count-wrong", _replace_line(coeff, 0, lambda _: "1 31"), words=("31 coefficients", "56")),
        case("coeff-more-elements-than-given", _replace_line(coeff, 0, lambda _: "2 56"), words=("element 2",)),
        case("coeff-header-not-numbers", _replace_line(coeff, 0, lambda _: "one fifty-six")),
        case("coeff-not-a-number", _replace_line(coeff, 5, lambda _: "-0.0x1"), words=("non-numeric",)),
        case("coeff-nan", _replace_line(coeff, 5, lambda _: "nan"), words=("non-finite",)),
        case("coeff-radelem-not-a-number", _replace_line(coeff, 1, lambda line: line.replace("0.5", "half", 1))),
        case("coeff-radelem-negative", _replace_line(coeff, 1, lambda line: line.replace("0.5", "-0.5", 1)),
             words=("radelem",)),
        case("coeff-empty", b"", words=("empty",)),
        case("coeff-binary", _garbage("coeff"), words=("UTF-8",)),
        case("param-truncated", param_text="\n".join(param.splitlines()[:4]) + "\n", broken=p, words=("twojmax",)),
        case("param-not-a-number", param_text=_rcutfac(param, "4.9x"), broken=p, words=("rcutfac",)),
        case("param-nan", param_text=_rcutfac(param, "nan"), broken=p, words=("rcutfac",)),
        case("param-negative-cutoff", param_text=_rcutfac(param, "-4.9"), broken=p, words=("rcutfac",)),
        case("param-unknown-keyword", param_text=param + "warpfactor 9\n", broken=p, words=("warpfactor",)),
        case("param-twojmax-mismatch", param_text=re.sub(r"twojmax\s+\d+", "twojmax 6", param),
             words=("twojmax 6", "31")),
        case("param-quadratic-mismatch", param_text=re.sub(r"quadraticflag\s+\d+", "quadraticflag 1", param),
             words=("quadraticflag 1",)),
        case("param-binary", param_text=_garbage("param"), broken=p, words=("UTF-8",)),
        case("param-missing", files={c: coeff.encode()}, broken="si.snapparam", words=("--param",)),
    ]


def eam_cases(potentials: Path) -> list[Case]:
    alloy = (potentials / "Cu_mishin1.eam.alloy").read_text()
    fs = (potentials / "CuZr_mm.eam.fs").read_text()
    a, f = "cu.eam.alloy", "cuzr.eam.fs"
    lines = alloy.splitlines()

    def case(name, text, words=(), name_=a, kind="eam/alloy"):
        content = text if isinstance(text, bytes) else text.encode()
        return Case(f"{kind}:{name}", kind, {name_: content}, name_, name_, words)

    body_value = lines[7].split()[0]
    return [
        case("truncated", alloy[: len(alloy) // 3], ("the file ends",)),
        case("header-only", "\n".join(lines[:5]) + "\n", ("the file ends",)),
        case("pair-table-short", "\n".join(lines[:-5000]) + "\n", ("the file ends", "pair tables")),
        case("not-a-number", alloy.replace(body_value, "0.0x1", 1), ("0.0x1", "not a number")),
        case("nan", alloy.replace(body_value, "nan", 1), ("non-finite",)),
        case("element-count-wrong", "\n".join([*lines[:3], "2 Cu", *lines[4:]]) + "\n", ("2 elements",)),
        case("grid-line-garbage", "\n".join([*lines[:4], "lots of numbers", *lines[5:]]) + "\n", ("grid",)),
        case("grid-negative", "\n".join([*lines[:4], lines[4].replace("10001", "-5", 1), *lines[5:]]) + "\n",
             ("grid",)),
        case("element-line-short", "\n".join([*lines[:5], "29", *lines[6:]]) + "\n", ("Z mass",)),
        case("empty", b"", ("not a setfl",)),
        case("binary", _garbage("eam"), ("UTF-8",)),
        case("truncated", fs[: len(fs) // 2], ("the file ends",), name_=f, kind="eam/fs"),
    ]


_YACE_WHOLE_FILE = ("truncated", "missing-elements", "empty", "non-utf8", "binary", "deeply-nested",
                    "top-level-list")


def write_broken_pair_files(potentials: Path, folder: Path) -> None:
    """The SNAP pair that disagrees on twojmax (si.snapcoeff, si.snapparam) and the truncated cu.eam.alloy, in
    ``folder``: what the commands' referenced-file cases point their configs at."""
    snap = {c.id: c for c in snap_cases(potentials)}["snap:param-twojmax-mismatch"]
    eam = {c.id: c for c in eam_cases(potentials)}["eam/alloy:truncated"]
    for case in (snap, eam):
        for name, content in case.files.items():
            (folder / name).write_bytes(content)


def yace_case_ids() -> list[str]:
    from tests.ace.test_bad_yace import BROKEN

    return [f"yace:{name.replace(' ', '-')}" for name in sorted(BROKEN)] + [f"yace:{n}" for n in _YACE_WHOLE_FILE]


def yace_cases(good: Path) -> list[Case]:
    """The breakages of tests/ace/test_bad_yace.py, plus whole-file ones."""
    from tests.ace.test_bad_yace import BROKEN

    text = good.read_text()
    y = "model.yace"

    def case(name, content, words=()):
        content = content if isinstance(content, bytes) else content.encode()
        return Case(f"yace:{name}", "yace", {y: content}, y, y, words)

    cases = []
    for name, (mutate, _lammps_words, python_key) in sorted(BROKEN.items()):
        cases.append(case(name.replace(" ", "-"), mutate(text), (python_key,) if python_key else ()))
    elements_line = next(line for line in text.splitlines() if line.startswith("elements:"))
    cases += [
        case("truncated", text[: len(text) // 2]),
        case("missing-elements", text.replace(elements_line + "\n", "", 1), ("elements",)),
        case("empty", b""),
        case("non-utf8", text.encode().replace(b"elements:", b"\xff\xfe elements:", 1), ("UTF-8",)),
        case("binary", _garbage("yace")),
        case("deeply-nested", text + "extra: " + "[" * 5000 + "]" * 5000 + "\n", ("nested",)),
        case("top-level-list", b"- 1\n- 2\n"),
    ]
    assert [c.id for c in cases] == yace_case_ids()
    return cases


def yaml_cases() -> list[Case]:
    """A potential described by YAML (as a fit's potential.yaml is)."""
    p = "potential.yaml"

    def case(name, text, words=()):
        return Case(f"yaml:{name}", "yaml", {p: text.encode()}, p, p, words)

    return [
        case("unknown-kind", "kind: magic\n", ("kind",)),
        case("missing-file", "kind: snap\ncoeff: nowhere.snapcoeff\nparam: nowhere.snapparam\n", ("coeff",)),
        case("not-a-mapping", "- snap\n", ("mapping",)),
        case("unknown-key", "kind: eam/alloy\nfile: lammps:Cu_mishin1.eam.alloy\nbogus: 1\n", ("bogus",)),
    ]
