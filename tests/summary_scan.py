"""Find numbers in JSON summaries that cannot be physical results: the mark of an undefined quantity
reported as a value (a collective D of 1e-26, a ratio of 5e25) instead of null plus a reason.

Used by conftest.py on every test's outputs. A summary value is suspicious when it is not finite
(NaN or infinity written into JSON) or when its magnitude is above ``HUGE`` or below ``TINY`` but
not zero. No simkit quantity in its units (eV, Å, ps, K, GPa, cm^2/s, S/cm, ...) lies there.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Iterator

HUGE = 1e20
TINY = 1e-20
MAX_BYTES = 20 * 1024 * 1024  # bigger JSON files are data, not summaries


def suspicious(value) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    if isinstance(value, int):
        return abs(value) > HUGE
    return not math.isfinite(value) or abs(value) > HUGE or 0.0 < abs(value) < TINY


def _walk(node, where: str) -> Iterator[tuple[str, object]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _walk(value, f"{where}.{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _walk(value, f"{where}[{index}]")
    elif suspicious(node):
        yield where, node


def scan_file(path: Path) -> list[str]:
    """``["file: key.path = value", ...]`` for every suspicious number in one JSON file."""
    if path.stat().st_size > MAX_BYTES:
        return []
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError, OSError):
        return []  # not a summary (tests write broken JSON on purpose)
    return [f"{path}: {where} = {value!r}" for where, value in _walk(data, "$")]


def scan_tree(root: Path, *, skip: tuple[str, ...] = ()) -> list[str]:
    """Suspicious numbers of every ``*.json`` under ``root`` (folders named in ``skip`` left out)."""
    findings = []
    for path in sorted(Path(root).rglob("*.json")):
        if any(part in skip for part in path.parts):
            continue
        findings.extend(scan_file(path))
    return findings
