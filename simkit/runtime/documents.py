"""What run records share: their time stamps, and where two JSON-like documents differ.

Resume checks (md state, optimise journal, survival journal, radiation studies)
compare the document a run was started with against the one given now and name
the keys that changed; every record stamps times the same way.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any


def utc_now() -> str:
    """The time now, UTC, ISO 8601 to the second (the stamp in every state file and summary)."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def differences(old: Any, new: Any, path: str = "") -> list[str]:
    """Key paths (``a.b[2].c``) where two JSON-like values differ, in sorted key order.

    A key present on one side only is named itself; lists of different lengths are named with
    their lengths after the element-wise differences of their common part.
    """
    if isinstance(old, dict) and isinstance(new, dict):
        found: list[str] = []
        for key in sorted(set(old) | set(new), key=str):
            where = f"{path}.{key}" if path else str(key)
            if key not in old or key not in new:
                found.append(where)
            else:
                found += differences(old[key], new[key], where)
        return found
    if isinstance(old, list) and isinstance(new, list):
        found = []
        for i, (a, b) in enumerate(zip(old, new)):
            found += differences(a, b, f"{path}[{i}]")
        if len(old) != len(new):
            found.append(f"{path} (length {len(old)} -> {len(new)})")
        return found
    return [] if old == new else [path or "<top level>"]


def first_difference(old: Any, new: Any) -> str | None:
    """The first of :func:`differences` (None if the values are equal)."""
    found = differences(old, new)
    return found[0] if found else None
