"""Issue 16: the chaos test. One crawl of the demo portal (two sites) with JOBDIR is killed with SIGKILL 10 times at
random moments — mid-crawl, as a restart begins, while it mends the killed run's WARC, as its catalog catch-up ends
— then let finish. The catalog holds the ground truth, each report exactly once, every WARC verifies, and the
catalog equals a rebuild. The driver is ``bench/chaos.py``, which runs longer rounds on every site."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.chaos import chaos


@pytest.mark.parametrize("seed", [7])
def test_ten_kills_then_the_catalog_is_the_ground_truth_once(tmp_path: Path, seed: int) -> None:
    result = chaos(tmp_path, kills=10, seed=seed, sites=["trs", "hanweb"], reports_per_site=5)
    summary = "\n".join(result.lines())
    assert len(result.kills) == 10 and not any("finished first" in k for k in result.kills), summary
    assert {"mend", "startup", "catch-up"} & set(result.kills), summary  # some kills hit the resume itself
    assert result.exit_status == 0, result.stderr_tail
    assert result.lost == [] and result.extra == [] and result.twice == [] and result.wrong == [], summary
    assert result.bad_warcs == [] and result.open_left == [], summary
    assert result.refused == 0 and result.robots_hits == 0, summary
    assert result.rebuild_equal, summary
