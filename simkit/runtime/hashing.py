"""Content hashes for provenance, resume fingerprints and caches: one definition of each."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

_BLOCK_BYTES = 1 << 20


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file's bytes, read in blocks (model files can be hundreds of MB)."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(_BLOCK_BYTES), b""):
            digest.update(block)
    return digest.hexdigest()


def sha256_json(data: Any) -> str:
    """Hex SHA-256 of JSON-able data, independent of key order (``str`` for anything else, e.g. paths)."""
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()
