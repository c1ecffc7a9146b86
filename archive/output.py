"""Writing a user-named output file safely: only that path, never over an existing file without `force`,
never through a symlink (a link at the path is replaced, not followed)."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO


class OutputExists(FileExistsError):
    """The output path exists and `force` was not given."""


@contextmanager
def open_output(path: str | os.PathLike[str] | None, force: bool = False) -> Iterator[BinaryIO]:
    """A binary file handle for `path` (stdout for None or "-"). On error the partial file is removed."""
    if path is None or str(path) == "-":
        yield sys.stdout.buffer
        sys.stdout.buffer.flush()
        return
    p = Path(path)
    if p.is_dir() and not p.is_symlink():
        raise IsADirectoryError(f"{p} is a directory; give a file name")
    if p.exists() or p.is_symlink():
        if not force:
            raise OutputExists(f"{p} exists; use --force to overwrite it")
        p.unlink()
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(p, flags, 0o644)
    ok = False
    try:
        with os.fdopen(fd, "wb") as fh:
            yield fh
        ok = True
    finally:
        if not ok and p.exists():
            p.unlink()
