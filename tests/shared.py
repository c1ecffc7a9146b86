"""The shared data folder (real report samples and seeds; not part of the repository) and how tests skip without it.

The folder is found by the rule the demo portal uses (``crawler.portal.samples.shared_dir``):
``$NIANBAO_SHARED``, else ``shared/`` beside the repository. A clone without it runs every other test; each
test that needs it skips with ``REASON``, and ``conftest.py`` prints one line counting those skips.

    from tests.shared import SHARED, needs_shared, require_shared, shared_files, shared_params

    @needs_shared                                         # a test that reads SHARED / ...
    @pytest.mark.parametrize("path", shared_params("seeds", "*.txt"))   # never an empty parametrization
    require_shared()                                      # inside a test or fixture: skip here when absent
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from crawler.portal.samples import shared_dir

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = ROOT.parent / "shared"
SHARED_DIR: Path | None = shared_dir()
# Where paths into the folder are built at import time; only tests that skip without it read them.
SHARED: Path = SHARED_DIR or DEFAULT
# conftest.py counts skips by this text: keep it in every skip about the folder.
REASON = "needs the shared data folder ../shared (real samples, seeds; not in the repository; or $NIANBAO_SHARED)"

needs_shared = pytest.mark.skipif(SHARED_DIR is None, reason=REASON)


def require_shared() -> Path:
    """The shared folder; skips the calling test (or fixture) when there is none."""
    __tracebackhide__ = True  # the skip is reported at the caller's line
    if SHARED_DIR is None:
        pytest.skip(REASON)
    return SHARED_DIR


def shared_files(folder: str, pattern: str = "*") -> list[Path]:
    """The files of ``shared/<folder>`` matching ``pattern``, sorted, without ``SOURCES.md``; [] when absent."""
    if SHARED_DIR is None:
        return []
    return sorted(p for p in (SHARED_DIR / folder).glob(pattern) if p.is_file() and p.name != "SOURCES.md")


def shared_params(folder: str, pattern: str = "*") -> list[Any]:
    """``shared_files`` for ``parametrize``: without the folder, one case that skips with ``REASON``, so the
    parametrization is not empty (an empty one fails at collection: ``empty_parameter_set_mark``)."""
    if SHARED_DIR is None:
        return [pytest.param(None, marks=pytest.mark.skip(reason=REASON), id="no-shared-folder")]
    return shared_files(folder, pattern)


def shared_input(path: Path) -> Path:
    """A fixture input given relative to the repository that points into ``../shared`` (a golden fixture.json),
    found in the shared folder actually used; skips when there is none."""
    __tracebackhide__ = True
    path = path.resolve()
    if not path.is_relative_to(DEFAULT.resolve()):
        return path
    return (require_shared() / path.relative_to(DEFAULT.resolve())).resolve()


def count_skipped(stats: dict[str, list[Any]]) -> int:
    """How many of a run's skips (``TerminalReporter.stats``) were for want of the shared folder."""
    count = 0
    for report in stats.get("skipped", []):
        longrepr = getattr(report, "longrepr", None)
        if isinstance(longrepr, tuple) and len(longrepr) == 3 and REASON in str(longrepr[2]):
            count += 1
    return count
