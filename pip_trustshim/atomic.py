"""Replace a file atomically: write a temporary file beside it, sync it, rename it.

Used for pip's configuration files (``conffile``) and exported bundles
(``export``), each of which first resolves a symlink with ``through_link``.
On any failure the temporary file is removed and the target is left exactly
as it was; no reader ever sees a file cut short.
"""

from __future__ import annotations

import os
import stat
from typing import Optional, Tuple

#: the mode a new file is created with; the umask (or the directory's default
#: ACL) applies to it as to any ``open()``
NEW_FILE_MODE = 0o644


class WriteError(Exception):
    """A file that could not be replaced, as one line naming it; it is unchanged."""


def write_atomically(target: str, data: bytes, mode: Optional[int] = None) -> None:
    """Replace ``target`` with ``data`` through a synced temporary file beside it.

    The new file keeps the original's mode (and owner and group where this
    user may set them), or gets ``NEW_FILE_MODE`` less the umask when there was
    none; ``mode``, when given, is set exactly instead.
    """
    try:
        existing: Optional[os.stat_result] = os.stat(target)
    except FileNotFoundError:
        existing = None
    except OSError as error:
        raise WriteError(f"{target}: cannot read it: {describe(error)}") from None
    directory = os.path.dirname(os.path.abspath(target))
    if existing is not None and not os.access(target, os.W_OK):
        raise WriteError(f"{target}: not writable for this user; nothing was written")
    try:
        if existing is None:
            os.makedirs(directory, exist_ok=True)
        first = NEW_FILE_MODE if existing is None else 0o600
        descriptor, temporary = _create_temporary(directory, os.path.basename(target), first)
    except OSError as error:
        raise WriteError(
            f"{target}: cannot create a temporary file in {directory}: "
            f"{describe(error)}; nothing was written"
        ) from None
    try:
        try:
            if existing is not None:
                _copy_owner_and_mode(descriptor, temporary, existing)
            if mode is not None:
                _set_mode(descriptor, temporary, mode)
            _write_all(descriptor, data)
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
        os.replace(temporary, target)
    except BaseException as error:
        _remove_quietly(temporary)
        if isinstance(error, OSError):
            raise WriteError(
                f"{target}: cannot write it: {describe(error)}; the file was left as it was"
            ) from None
        raise
    _sync_directory(directory)


def through_link(path: str) -> Tuple[str, Optional[str]]:
    """The file to write for ``path``, and the symlink followed to reach it (or None).

    A symlink is written through, never replaced: its final target (created
    when it does not exist yet) gets the new content, and the link stays.
    Every command that writes a file (``enable``, ``disable``, ``export -o``)
    resolves its path here.
    """
    if os.path.islink(path):
        return os.path.realpath(path), path
    return path, None


def describe(error: OSError) -> str:
    """An OSError in plain words."""
    return error.strerror or str(error)


def _set_mode(descriptor: int, temporary: str, mode: int) -> None:
    if hasattr(os, "fchmod"):
        os.fchmod(descriptor, mode)
    else:
        os.chmod(temporary, mode)


def _create_temporary(directory: str, base: str, mode: int) -> Tuple[int, str]:
    """A new, empty, exclusively created ``.<base>.<random>.tmp`` in ``directory``."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
    flags |= getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        temporary = os.path.join(directory, f".{base}.{os.urandom(4).hex()}.tmp")
        try:
            return os.open(temporary, flags, mode), temporary
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary file name in {directory}")


def _copy_owner_and_mode(descriptor: int, temporary: str, existing: os.stat_result) -> None:
    """Give the temporary file the original's owner and group (if allowed) and mode."""
    if hasattr(os, "fchown"):
        current = os.fstat(descriptor)
        if (current.st_uid, current.st_gid) != (existing.st_uid, existing.st_gid):
            try:
                os.fchown(descriptor, existing.st_uid, existing.st_gid)
            except OSError:  # only root may give a file away; a member may chgrp
                try:
                    os.fchown(descriptor, -1, existing.st_gid)
                except OSError:
                    pass
    _set_mode(descriptor, temporary, stat.S_IMODE(existing.st_mode))


def _write_all(descriptor: int, data: bytes) -> None:
    """Write all of ``data``; an unbuffered descriptor needs no flush before fsync."""
    remaining = memoryview(data)
    while remaining:
        written = os.write(descriptor, remaining)
        remaining = remaining[written:]


def _remove_quietly(temporary: str) -> None:
    try:
        os.unlink(temporary)
    except OSError:
        pass


def _sync_directory(directory: str) -> None:
    """Make the rename durable where the platform allows syncing a directory."""
    try:
        descriptor = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)
