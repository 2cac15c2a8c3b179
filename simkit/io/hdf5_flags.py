"""Clear the "file is open for writing" flags a killed HDF5 writer leaves in the superblock.

HDF5 files written with the latest format (superblock version 2 or 3, what
``libver="latest"`` and SWMR need) carry file consistency flags: bit 0 "open
for write", bit 2 "open for SWMR write". A writer killed while it had the file
open leaves them set. With bit 2 set, SWMR readers still open the file (and
:func:`simkit.io.h5md_recover.recover` rewrites it clean); with bit 0 alone,
set by a writer killed in one of the moments it had the file open outside SWMR
mode (creating datasets, truncating on resume), nothing opens it any more.
HDF5's own ``h5clear -s`` tool resets the flags; h5py does not ship it, so this
module does the same from the documented file format: the superblock layout
(HDF5 File Format Specification 3.0, "Version 2/3 superblock") and its
checksum, Bob Jenkins' lookup3 ``hashlittle`` with initial value 0.

Only for a file no live process writes: callers hold the folder's lock.
"""

from __future__ import annotations

import os
from pathlib import Path

from simkit.errors import InputDataError

SIGNATURE = b"\x89HDF\r\n\x1a\n"
_MASK = 0xFFFFFFFF
# Where HDF5 looks for the superblock: offset 0, then 512 and every doubling (a user block precedes it).
_SEARCH_OFFSETS = (0, 512, 1024, 2048, 4096, 8192, 16384, 32768, 65536)


def _rot(x: int, k: int) -> int:
    return ((x << k) | (x >> (32 - k))) & _MASK


def lookup3(data: bytes, initval: int = 0) -> int:
    """Bob Jenkins' lookup3 ``hashlittle`` (2006, public domain) of ``data``: HDF5's metadata checksum."""
    length = len(data)
    a = b = c = (0xDEADBEEF + length + initval) & _MASK
    if length == 0:
        return c
    offset = 0
    while length - offset > 12:
        a = (a + int.from_bytes(data[offset:offset + 4], "little")) & _MASK
        b = (b + int.from_bytes(data[offset + 4:offset + 8], "little")) & _MASK
        c = (c + int.from_bytes(data[offset + 8:offset + 12], "little")) & _MASK
        # mix(a, b, c)
        a = (a - c) & _MASK; a ^= _rot(c, 4); c = (c + b) & _MASK  # noqa: E702
        b = (b - a) & _MASK; b ^= _rot(a, 6); a = (a + c) & _MASK  # noqa: E702
        c = (c - b) & _MASK; c ^= _rot(b, 8); b = (b + a) & _MASK  # noqa: E702
        a = (a - c) & _MASK; a ^= _rot(c, 16); c = (c + b) & _MASK  # noqa: E702
        b = (b - a) & _MASK; b ^= _rot(a, 19); a = (a + c) & _MASK  # noqa: E702
        c = (c - b) & _MASK; c ^= _rot(b, 4); b = (b + a) & _MASK  # noqa: E702
        offset += 12
    # The last 1-12 bytes, zero-padded: bytes beyond the end add nothing.
    tail = data[offset:].ljust(12, b"\0")
    a = (a + int.from_bytes(tail[0:4], "little")) & _MASK
    b = (b + int.from_bytes(tail[4:8], "little")) & _MASK
    c = (c + int.from_bytes(tail[8:12], "little")) & _MASK
    # final(a, b, c)
    c ^= b; c = (c - _rot(b, 14)) & _MASK  # noqa: E702
    a ^= c; a = (a - _rot(c, 11)) & _MASK  # noqa: E702
    b ^= a; b = (b - _rot(a, 25)) & _MASK  # noqa: E702
    c ^= b; c = (c - _rot(b, 16)) & _MASK  # noqa: E702
    a ^= c; a = (a - _rot(c, 4)) & _MASK  # noqa: E702
    b ^= a; b = (b - _rot(a, 14)) & _MASK  # noqa: E702
    c ^= b; c = (c - _rot(b, 24)) & _MASK  # noqa: E702
    return c


def _superblock(handle, path: Path) -> tuple[int, int]:
    """(offset, size without the checksum) of a version 2/3 superblock."""
    for offset in _SEARCH_OFFSETS:
        handle.seek(offset)
        head = handle.read(12)
        if head[:8] == SIGNATURE:
            version, offsets_size = head[8], head[9]
            if version not in (2, 3):
                raise InputDataError(f"{path}: HDF5 superblock version {version} has no consistency flags to clear")
            # signature, version, sizes of offsets and lengths, flags; four addresses
            return offset, 12 + 4 * offsets_size
    raise InputDataError(f"{path}: not an HDF5 file (no superblock signature)")


def consistency_flags(path: str | Path) -> int:
    """The file consistency flags byte of an HDF5 file (0: closed cleanly)."""
    path = Path(path)
    with path.open("rb") as handle:
        offset, _ = _superblock(handle, path)
        handle.seek(offset + 11)
        return handle.read(1)[0]


def clear_consistency_flags(path: str | Path) -> bool:
    """Reset the flags to 0 and rewrite the superblock checksum; False if they were clear already.

    Refuses (InputDataError) a superblock whose stored checksum does not match: the file is not one this
    code understands, and it is left untouched.
    """
    path = Path(path)
    with path.open("r+b") as handle:
        offset, size = _superblock(handle, path)
        handle.seek(offset)
        block = bytearray(handle.read(size + 4))
        stored = int.from_bytes(block[size:size + 4], "little")
        if lookup3(bytes(block[:size])) != stored:
            raise InputDataError(f"{path}: the HDF5 superblock checksum does not match; not clearing its flags")
        if block[11] == 0:
            return False
        block[11] = 0
        block[size:size + 4] = lookup3(bytes(block[:size])).to_bytes(4, "little")
        handle.seek(offset)
        handle.write(block)
        handle.flush()
        os.fsync(handle.fileno())
    return True
