"""An exclusive lock for editing a file that is replaced by renaming.

``conffile`` replaces pip's configuration file with a new one (``atomic``),
so a lock on the file itself would be lost with the old file: a second
writer opening the new file would lock another inode. The lock is therefore
held on a sidecar that is never replaced: ``.<name>.lock`` beside the file
(``.pip.conf.lock``), created empty on first use and left in place (removing
it could let two writers lock two different files). POSIX: ``flock``;
Windows: ``msvcrt.locking`` on its first byte. Both are released by the
operating system when the process ends, however it ends.

Standard library only.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sys
import time
from typing import Iterator, Optional

from .atomic import NEW_FILE_MODE, describe

#: how long to wait for another writer before giving up, in seconds; a
#: writer holds the lock only while it reads, edits and replaces the file
TIMEOUT = 30.0
#: the longest pause between two attempts, in seconds
_MAX_PAUSE = 0.05


class LockError(Exception):
    """The lock could not be taken, as one line naming the lock file."""


def lock_path(target: str) -> str:
    """The sidecar that locks ``target``: ``.<name>.lock`` in the same directory."""
    directory, name = os.path.split(os.path.abspath(target))
    return os.path.join(directory, f".{name}.lock")


@contextlib.contextmanager
def exclusive(target: str, timeout: Optional[float] = None) -> Iterator[str]:
    """Hold the exclusive lock for ``target`` (its directory must exist); yields the lock file.

    Waits up to ``timeout`` seconds (default: ``TIMEOUT``) for another
    holder, then raises :class:`LockError`.
    """
    path = lock_path(target)
    descriptor = _open(path)
    try:
        _acquire(descriptor, path, TIMEOUT if timeout is None else timeout)
        try:
            yield path
        finally:
            _release(descriptor)
    finally:
        os.close(descriptor)


def _open(path: str) -> int:
    """The lock file, opened (created when missing); read-only when that is all we may.

    Never through a symbolic link: one planted in a shared directory would
    make us create or lock a file of someone else's choosing.
    """
    flags = getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0) | getattr(os, "O_NOFOLLOW", 0)
    try:
        return os.open(path, os.O_RDWR | os.O_CREAT | flags, NEW_FILE_MODE)
    except PermissionError:
        try:  # another user's lock file in a directory we share: flock needs no write access
            return os.open(path, os.O_RDONLY | flags)
        except OSError as error:
            raise LockError(f"{path}: cannot open the lock file: {describe(error)}") from None
    except OSError as error:
        raise LockError(f"{path}: cannot create the lock file: {describe(error)}") from None


def _acquire(descriptor: int, path: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    pause = 0.001
    while not _try_lock(descriptor, path):
        if time.monotonic() >= deadline:
            raise LockError(
                f"{path}: another process has held this lock for {timeout:g} s "
                "(another pip-trustshim enable or disable?)"
            )
        time.sleep(pause)
        pause = min(pause * 2, _MAX_PAUSE)


if sys.platform == "win32":
    import msvcrt

    def _try_lock(descriptor: int, path: str) -> bool:
        os.lseek(descriptor, 0, os.SEEK_SET)
        try:
            msvcrt.locking(descriptor, msvcrt.LK_NBLCK, 1)
        except PermissionError:  # EACCES: another process holds it
            return False
        except OSError as error:
            if error.errno == getattr(errno, "EDEADLOCK", errno.EDEADLK):
                return False  # how some C runtimes report a held lock
            raise LockError(f"{path}: cannot lock it: {describe(error)}") from None
        return True

    def _release(descriptor: int) -> None:
        os.lseek(descriptor, 0, os.SEEK_SET)
        msvcrt.locking(descriptor, msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _try_lock(descriptor: int, path: str) -> bool:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        except OSError as error:  # a file system without locks
            raise LockError(f"{path}: cannot lock it: {describe(error)}") from None
        return True

    def _release(descriptor: int) -> None:
        fcntl.flock(descriptor, fcntl.LOCK_UN)
