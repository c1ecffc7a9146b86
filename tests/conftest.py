from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.shared import DEFAULT, SHARED, SHARED_DIR, count_skipped  # noqa: E402  (needs ROOT on sys.path)

__all__ = ["ROOT", "SHARED", "catalog_dump"]


def catalog_dump(path: Path) -> list[str]:
    """The catalog at ``path`` as ``pipelines.catalog.sorted_dump`` lines (for byte-for-byte comparisons)."""
    import sqlite3

    from pipelines.catalog import sorted_dump

    conn = sqlite3.connect(path)
    try:
        return sorted_dump(conn)
    finally:
        conn.close()


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    """One line: where the shared data folder is, and how many tests skipped for want of it."""
    where = f"at {SHARED_DIR}" if SHARED_DIR else f"absent ({DEFAULT} not found, $NIANBAO_SHARED not set)"
    skipped = count_skipped(terminalreporter.stats)
    terminalreporter.write_line(f"shared data folder {where}: {skipped} tests skipped for want of it")
