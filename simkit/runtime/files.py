"""Files that survive a kill or a power cut: either the old content or the new, never half of one.

A file is written under a temporary name in its own directory, flushed and
``fsync``-ed, renamed over the target (``os.replace`` is atomic on POSIX) and
the directory is ``fsync``-ed so the rename itself is on disk. A directory is
replaced by two renames, so a complete one always exists under the target's
name or, after a kill between the renames, under ``.<name>.previous`` (which
:func:`restore_directory` puts back). A journal grows one line at a time, each
on disk before the next (:func:`append_durably`): a kill can tear only its last
line, which the reader drops and :func:`truncate_durably` cuts off.
"""

from __future__ import annotations

import os
import secrets
import shutil
from pathlib import Path


def fsync_dir(directory: Path) -> None:
    """Make renames and new entries in ``directory`` durable."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_file(path: Path) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def replace_durably(partial: Path, target: Path) -> None:
    """Rename the complete file ``partial`` over ``target`` once its content is on disk."""
    fsync_file(partial)
    os.replace(partial, target)
    fsync_dir(Path(target).parent)


def atomic_write_bytes(path: Path, data: bytes) -> Path:
    """Replace ``path`` with ``data``; a kill at any instant leaves the old content or the new."""
    path = Path(path)
    # A name of our own (pid and random part) so that two writers never share a temporary file;
    # os.open with 0o666 lets the umask set the permissions, as for any other new file.
    partial = path.with_name(f".{path.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)
    return path


def atomic_write_text(path: Path, text: str, encoding: str = "utf-8") -> Path:
    """:func:`atomic_write_bytes` for text."""
    return atomic_write_bytes(path, text.encode(encoding))


def append_durably(path: Path, text: str, encoding: str = "utf-8") -> None:
    """Append ``text`` to ``path`` and return once it is on disk.

    For journals of one line per record: a kill can tear only the line being
    appended, never one before it, so a reader may drop a torn last line.
    """
    with open(path, "ab") as handle:
        handle.write(text.encode(encoding))
        handle.flush()
        os.fsync(handle.fileno())


def truncate_durably(path: Path, size: int) -> None:
    """Cut ``path`` to its first ``size`` bytes (e.g. a torn last line) before anything is appended."""
    os.truncate(path, size)
    fsync_file(path)


def _previous(target: Path) -> Path:
    return target.with_name(f".{target.name}.previous")


def restore_directory(target: Path) -> None:
    """Finish a :func:`replace_directory` that was cut short: the previous ``target`` comes back if it is gone."""
    target, previous = Path(target), _previous(Path(target))
    if previous.is_dir() and not target.exists():
        os.rename(previous, target)
    shutil.rmtree(previous, ignore_errors=True)


def replace_directory(new: Path, target: Path) -> Path:
    """Put the complete directory ``new`` (beside ``target``) in place of ``target``.

    A kill at any instant leaves a complete ``target``, or the previous one
    under ``.<name>.previous`` that :func:`restore_directory` renames back.
    """
    new, target = Path(new), Path(target)
    restore_directory(target)
    for root, _, names in os.walk(new):
        for name in names:
            fsync_file(Path(root) / name)
        fsync_dir(Path(root))
    if target.exists():
        os.rename(target, _previous(target))
    os.rename(new, target)
    fsync_dir(target.parent)
    shutil.rmtree(_previous(target), ignore_errors=True)
    return target
