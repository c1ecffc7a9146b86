"""Writing a user-named output file safely: whole or not at all, and only ever a regular file.

The bytes go to a temporary file beside the target, which is synced and then renamed onto it: a full disk, a kill
or an error midway leaves the old file as it was (with ``force``) and no half file. Without ``force`` an existing
file is never replaced (the rename is a hard link that fails when the name is taken, so a file created meanwhile is
not overwritten either). Whatever is at the path must be a regular file or a symlink: a device (``/dev/full``,
``/dev/sda``), a pipe or a socket is refused even with ``force`` — the old code unlinked and replaced it. A symlink
at the path is replaced, never followed.
"""

from __future__ import annotations

import contextlib
import os
import stat
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO


class OutputExists(FileExistsError):
    """The output path exists and `force` was not given."""


class NotARegularFile(OSError):
    """The output path is a device, a pipe, a socket or a folder: not a file to write a snapshot into."""


def _check_target(p: Path, force: bool) -> None:
    try:
        st = os.lstat(p)
    except FileNotFoundError:
        return
    if stat.S_ISDIR(st.st_mode):
        raise IsADirectoryError(f"{p} is a directory; give a file name")
    if not (stat.S_ISREG(st.st_mode) or stat.S_ISLNK(st.st_mode)):
        raise NotARegularFile(f"{p} is not a regular file (a device, pipe or socket); give a file name, or no -o "
                              "for stdout")
    if not force:
        raise OutputExists(f"{p} exists; use --force to overwrite it")


@contextmanager
def open_output(path: str | os.PathLike[str] | None, force: bool = False) -> Iterator[BinaryIO]:
    """A binary file handle for `path` (stdout for None or "-"); the file appears, whole, when the block ends
    without an error (see the module docstring)."""
    if path is None or str(path) == "-":
        yield sys.stdout.buffer
        sys.stdout.buffer.flush()
        return
    p = Path(path)
    _check_target(p, force)
    tmp = _temp_beside(p)
    try:
        with open(tmp, "r+b") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        _check_target(p, force)  # again: something may have appeared at the path while we wrote
        if force:
            os.replace(tmp, p)
        else:
            try:
                os.link(tmp, p, follow_symlinks=False)
            except FileExistsError:
                raise OutputExists(f"{p} exists; use --force to overwrite it") from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)  # after the rename there is nothing left; after a link, the temporary name
    _sync_dir(p.parent)


def _temp_beside(p: Path) -> Path:
    """A new empty file next to ``p`` (same file system, so the rename is atomic), mode as a plain ``open``."""
    for n in range(1000):
        tmp = p.with_name(f".{p.name}.{os.getpid()}.{n}.tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o666)
        except FileExistsError:
            continue
        os.close(fd)
        return tmp
    raise FileExistsError(f"cannot make a temporary file beside {p}")


def _sync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder if str(folder) else ".", os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
