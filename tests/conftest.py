from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def catalog_dump(path: Path) -> list[str]:
    """The catalog at ``path`` as ``pipelines.catalog.sorted_dump`` lines (for byte-for-byte comparisons)."""
    import sqlite3

    from pipelines.catalog import sorted_dump

    conn = sqlite3.connect(path)
    try:
        return sorted_dump(conn)
    finally:
        conn.close()
