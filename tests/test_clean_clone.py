"""A clone of the repository with no ../shared beside it (what a new user has) collects every test and passes.

The clone is of HEAD, as committed (uncommitted changes are not in it), made in a temporary folder and run with the
Python running this test, its imports pointed at the clone (PYTHONPATH). By default it runs the test files that
read the shared folder (each of their shared-data tests must skip, the rest pass) after collecting the whole suite
(no collection error, no empty parametrization). ``NIANBAO_CLEAN_CLONE=full`` runs the whole fast suite instead
(``make test-clone``, the second step of ``.ci/run``)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.shared import REASON

ROOT = Path(__file__).resolve().parent.parent
FAST = "not slow and not browser and not redis"
INSIDE = "NIANBAO_INSIDE_CLEAN_CLONE"
FULL = os.environ.get("NIANBAO_CLEAN_CLONE") == "full"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(3600 if FULL else 900),
    pytest.mark.skipif(bool(os.environ.get(INSIDE)), reason="already running inside a clean clone"),
    pytest.mark.skipif(shutil.which("git") is None or not (ROOT / ".git").exists(),
                       reason="needs git and a git checkout of the repository"),
]


def _clone(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    dest = tmp_path / "user" / "nianbao"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(dest)], check=True, capture_output=True, timeout=120)
    assert not (dest.parent / "shared").exists()
    env = {k: v for k, v in os.environ.items() if k not in ("NIANBAO_SHARED", "PYTEST_ADDOPTS", "PYTHONPATH")}
    env.update(PYTHONPATH=str(dest), PYTHONDONTWRITEBYTECODE="1", **{INSIDE: "1"})
    return dest, env


def _pytest(dest: Path, env: dict[str, str], *args: str, timeout: int) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *args], cwd=dest, env=env,
                          capture_output=True, text=True, timeout=timeout)


def _shared_test_files(dest: Path) -> list[str]:
    return sorted(str(p.relative_to(dest)) for p in (dest / "tests").glob("test_*.py")
                  if "tests.shared import" in p.read_text(encoding="utf-8"))


def test_clean_clone_passes_without_shared(tmp_path: Path) -> None:
    dest, env = _clone(tmp_path)
    where = subprocess.run([sys.executable, "-c", "import crawler, tests.shared as s; print(crawler.__file__);"
                            " print(s.SHARED_DIR)"], cwd=dest, env=env, capture_output=True, text=True, timeout=60)
    assert where.stdout.split("\n")[:2] == [str(dest / "crawler" / "__init__.py"), "None"], where.stdout + where.stderr

    if FULL:
        proc = _pytest(dest, env, "-rs", "-m", FAST, timeout=3500)
    else:
        collected = _pytest(dest, env, "--collect-only", timeout=300)
        assert collected.returncode == 0, collected.stdout[-4000:] + collected.stderr[-2000:]
        files = _shared_test_files(dest)
        assert len(files) >= 10, files
        proc = _pytest(dest, env, "-rs", "-m", FAST, *files, timeout=600)
    out = proc.stdout
    assert proc.returncode == 0, out[-6000:] + proc.stderr[-2000:]
    summary = out.strip().splitlines()[-1]
    assert "passed" in summary and "failed" not in summary and "error" not in summary, summary
    line = re.search(r"^shared data folder absent \(.*\): (\d+) tests skipped for want of it$", out, re.M)
    assert line, out[-3000:]
    # the count is the -rs report's skips with the shared-folder reason, and nothing else skipped for it
    reported = sum(int(n) for n, reason in re.findall(r"^SKIPPED \[(\d+)\] [^:]+:\d+: (.*)$", out, re.M)
                   if REASON in reason)
    assert int(line.group(1)) == reported > 0
    print(line.group(0))
    print(summary)
