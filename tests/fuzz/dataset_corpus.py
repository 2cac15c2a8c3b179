"""Bad extended XYZ datasets for ``simkit fit`` and ``simkit evaluate``.

A small valid dataset (three frames of 8-atom diamond silicon with seeded
labels) is written as text and broken one way per case. ``frame`` is the frame
(0-based within the file) the error line must name, or None where the file as
a whole is unusable (empty, not text).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np

SEED = 20251121
FRAMES = 3
BROKEN_FRAME = 1  # most cases break the middle frame, so "frame 1" must be named


def valid_dataset(element: str = "Si", crystal: str = "diamond", a_A: float = 5.431) -> str:
    """Three labelled frames of a small crystal as extended XYZ text (deterministic)."""
    from ase.build import bulk

    rng = np.random.default_rng(SEED)
    blocks = []
    for _ in range(FRAMES):
        atoms = bulk(element, crystal, a_A, cubic=True)
        positions = atoms.positions + rng.normal(0.0, 0.05, atoms.positions.shape)
        forces = rng.normal(0.0, 0.5, positions.shape)
        energy = -5.4 * len(atoms) + rng.normal(0.0, 0.1)
        cell = " ".join(f"{v:.6f}" for v in atoms.cell.array.ravel())
        header = (f'Lattice="{cell}" Properties=species:S:1:pos:R:3:forces:R:3 '
                  f'config_type=rattled energy={energy:.8f} pbc="T T T"')
        lines = [str(len(atoms)), header]
        lines += [f"{element} {p[0]:14.8f} {p[1]:14.8f} {p[2]:14.8f} {f[0]:12.6f} {f[1]:12.6f} {f[2]:12.6f}"
                  for p, f in zip(positions, forces)]
        blocks.append("\n".join(lines))
    return "\n".join(blocks) + "\n"


@dataclass(frozen=True)
class Case:
    id: str
    content: bytes
    frame: int | None  # the frame the error must name
    words: tuple[str, ...] = ()  # what else the line must say


def _frames(text: str) -> list[list[str]]:
    lines = text.splitlines()
    size = len(lines) // FRAMES
    return [lines[k * size:(k + 1) * size] for k in range(FRAMES)]


def _join(frames: list[list[str]]) -> bytes:
    return ("\n".join(line for frame in frames for line in frame) + "\n").encode("utf-8", "surrogateescape")


def _edit(text: str, frame: int, edit) -> bytes:
    frames = _frames(text)
    frames[frame] = edit(list(frames[frame]))
    return _join(frames)


def _header(edit):
    def apply(lines):
        lines[1] = edit(lines[1])
        return lines
    return apply


def _atom(index: int, column: int, value: str):
    def apply(lines):
        words = lines[2 + index].split()
        words[column] = value
        lines[2 + index] = " ".join(words)
        return lines
    return apply


def _drop_force_column(lines):
    lines[1] = lines[1].replace("forces:R:3", "forces:R:2")
    lines[2:] = [" ".join(line.split()[:-1]) for line in lines[2:]]
    return lines


def _drop_forces(lines):
    lines[1] = lines[1].replace(":forces:R:3", "")
    lines[2:] = [" ".join(line.split()[:4]) for line in lines[2:]]
    return lines


def _overlap(lines):
    words = lines[3].split()
    lines[2] = " ".join([lines[2].split()[0], *words[1:4], *lines[2].split()[4:]])
    return lines


def _truncate_frame(lines):
    return lines[:5]


def _truncate_line(lines):
    lines[-1] = lines[-1][: len(lines[-1]) // 2]
    return lines


def cases() -> list[Case]:
    text = valid_dataset()
    f = BROKEN_FRAME
    rng = random.Random(SEED)
    garbage = bytes(rng.randrange(256) for _ in range(1024))
    last = FRAMES - 1
    return [
        Case("truncated-inside-frame", _join(_frames(text)[:last] + [_frames(text)[last][:6]]), last),
        Case("truncated-mid-line", _edit(text, last, _truncate_line), last),
        Case("atom-count-too-large", _edit(text, f, lambda ls: [str(int(ls[0]) + 1), *ls[1:]]), f),
        # A short count leaves the frame's last atom line where the next frame's count should be.
        Case("atom-count-too-small", _edit(text, f, lambda ls: [str(int(ls[0]) - 1), *ls[1:]]), f + 1,
             ("atom count", f"frame {f}")),
        Case("atom-count-not-a-number", _edit(text, f, lambda ls: ["eight", *ls[1:]]), f),
        Case("position-not-a-number", _edit(text, f, _atom(3, 2, "1.2.3")), f),
        Case("force-not-a-number", _edit(text, f, _atom(3, 5, "abc")), f),
        Case("energy-not-a-number", _edit(text, f, _header(lambda h: _set_energy(h, "abc"))), f, ("energy",)),
        Case("missing-energy", _edit(text, f, _header(lambda h: _set_energy(h, None))), f, ("energy",)),
        Case("missing-forces", _edit(text, f, _drop_forces), f, ("forces",)),
        Case("nan-energy", _edit(text, f, _header(lambda h: _set_energy(h, "nan"))), f, ("energy",)),
        Case("inf-energy", _edit(text, f, _header(lambda h: _set_energy(h, "inf"))), f, ("energy",)),
        Case("nan-force", _edit(text, f, _atom(4, 4, "nan")), f, ("force",)),
        Case("nan-position", _edit(text, f, _atom(4, 1, "nan")), f, ("position",)),
        Case("forces-wrong-shape", _edit(text, f, _drop_force_column), f, ("forces",)),
        Case("unknown-element", _edit(text, f, _atom(0, 0, "Xx")), f),
        Case("element-not-in-model", _edit(text, f, _atom(0, 0, "Ge")), f, ("Ge",)),
        Case("overlapping-atoms", _edit(text, f, _overlap), f, ("overlapping",)),
        Case("nan-lattice", _edit(text, f, _header(lambda h: h.replace('Lattice="5.431000', 'Lattice="nan', 1))), f),
        Case("blank-line-between-frames", _edit(text, f, lambda ls: ["", *ls]), f, ("blank line",)),
        Case("empty-file", b"", None),
        Case("blank-lines-only", b"\n\n\n", None),
        Case("binary-garbage", garbage, None),
        Case("non-utf8-comment", _edit(text, f, _header(lambda h: h + " note=\udcff")), f),
    ]


def _set_energy(header: str, value: str | None) -> str:
    words = header.split(" ")
    kept = [w for w in words if not w.startswith("energy=")]
    if value is not None:
        kept.append(f"energy={value}")
    return " ".join(kept)
