"""Who may write where: file locks, and one owner per run directory.

A command that writes into a directory holds ``<directory>/.simkit.lock``
(``fcntl.flock``) for as long as it runs. The kernel drops the lock when its
holder exits, however it exits, so a killed run never leaves a lock behind
that blocks its resume. The file keeps one line about the holder (pid, host,
command, start time) for the message a second writer gets; the file itself
stays (removing it would let a third process lock a new file while a second
still holds the old one).

A command locks exactly the directory it writes, not the folders above it:
``simkit demo`` holds its output folder and runs ``simkit md`` and others in
subfolders of it, each of which holds its own subfolder. Under MPI world rank
0 holds the lock and a refusal reaches every rank.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import logging
import os
import socket
from pathlib import Path
from typing import Iterator

from simkit.errors import DirectoryInUse
from simkit.runtime.documents import utc_now
from simkit.runtime.mpi import launched_by_mpirun, on_root, world

log = logging.getLogger(__name__)

LOCK_FILE = ".simkit.lock"
# Filesystems that cannot lock (some network mounts) answer with these; runs go on there, unguarded.
_NO_LOCKS = (errno.ENOLCK, errno.ENOSYS, errno.EOPNOTSUPP, errno.EINVAL)

# The run directories this process holds. Two opens of one lock file in one
# process conflict under flock, so ownership is looked up here, not asked again.
_owned: dict[Path, "RunDirLock"] = {}


class FileLock:
    """An exclusive ``flock`` on one file, held until :meth:`release` or the end of the process."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._fd: int | None = None

    def acquire(self, wait: bool = True) -> bool:
        """Take the lock, waiting for it unless ``wait`` is False; False when another holder has it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            os.close(fd)
            return False
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        return True

    def note(self, text: str) -> None:
        """Replace the lock file's content (who holds it)."""
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            os.pwrite(self._fd, text.encode(), 0)

    def release(self) -> None:
        if self._fd is None:
            return
        # Unlock explicitly: a forked child sharing the descriptor would otherwise keep it.
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        os.close(self._fd)
        self._fd = None

    def __enter__(self) -> "FileLock":
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()


class RunDirLock:
    """The exclusive right to write into one directory (created if missing)."""

    def __init__(self, directory: Path, command: str):
        self.directory = Path(directory).resolve()
        self.command = command
        self._lock = FileLock(self.directory / LOCK_FILE)
        self._created = False

    def acquire(self) -> None:
        """Hold the directory; raises :class:`DirectoryInUse` naming the live holder."""
        self._created = not self.directory.exists()
        try:
            taken = self._lock.acquire(wait=False)
        except OSError as exc:
            if exc.errno not in _NO_LOCKS:
                raise
            log.warning("%s: cannot lock on this filesystem (%s); nothing stops a second run writing here",
                        self.directory, exc.strerror)
            taken = True
        if not taken:
            holder = _read_holder(self._lock.path)
            raise DirectoryInUse(f"{self.directory} is in use by {holder}; wait for that run to end or kill it "
                                 "(a killed run leaves no lock behind), or write somewhere else")
        self._lock.note(f"pid {os.getpid()} on {socket.gethostname()}, `{self.command}`, since {utc_now()}\n")
        _owned[self.directory] = self

    def release(self) -> None:
        if _owned.get(self.directory) is self:
            del _owned[self.directory]
        self._lock.release()
        if self._created:
            self._remove_if_unused()

    def _remove_if_unused(self) -> None:
        """A command refused before writing anything leaves no folder behind (only its lock was there)."""
        try:
            if set(os.listdir(self.directory)) <= {LOCK_FILE}:
                (self.directory / LOCK_FILE).unlink(missing_ok=True)
                self.directory.rmdir()
        except OSError:  # another process took the folder meanwhile: it is theirs now
            pass


def _read_holder(path: Path) -> str:
    try:
        text = path.read_text().strip()
    except OSError:
        text = ""
    return text or "another process (still starting)"


def owns(directory: Path) -> bool:
    """True when this process holds ``directory`` or a folder above it."""
    directory = Path(directory).resolve()
    return any(d in _owned for d in (directory, *directory.parents))


def claim(directory: Path, command: str) -> RunDirLock:
    """Make sure this process owns ``directory``; returns the lock to release when done (releasing
    it does nothing when this process held the directory, or a folder above it, already)."""
    lock = RunDirLock(directory, command)
    if not owns(directory):
        lock.acquire()
    return lock


@contextlib.contextmanager
def hold_run_dir(directory: Path | None, command: str) -> Iterator[None]:
    """Own ``directory`` for the block (nothing when None); call on every rank under mpirun.

    World rank 0 takes the lock; a refusal is raised on every rank, so none
    is left waiting for a rank that stopped.
    """
    if directory is None:
        yield
        return
    lock = RunDirLock(directory, command)
    on_root(world() if launched_by_mpirun() else None, lock.acquire)
    try:
        yield
    finally:
        lock.release()
