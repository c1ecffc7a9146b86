"""Issue 16, item 8: ``scrapy pull -o FILE --force`` (and ``wacz -o``) write a temporary file and rename it: a full
disk or an error midway leaves the old file whole, and a device, pipe or socket at the path is refused, never
unlinked and replaced by a regular file (``/dev/full`` as root was)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from archive.output import NotARegularFile, OutputExists, open_output
from tests.conftest import ROOT
from tests.reliability_support import small_filesystem, write_warc

URL = "http://example.gov.cn/report.html"


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def test_a_pipe_at_the_path_is_refused_even_with_force(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(NotARegularFile, match="not a regular file"), open_output(fifo, force=True) as fh:
        fh.write(b"x")
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert _leftovers(tmp_path) == []


def test_a_device_at_the_path_is_refused_even_with_force(tmp_path: Path) -> None:
    node = tmp_path / "full"
    try:  # a /dev/full of our own (char 1:7): the real one must not be put at risk by the old code
        os.mknod(node, stat.S_IFCHR | 0o666, os.makedev(1, 7))
    except PermissionError:
        pytest.skip("cannot make a device node here (needs CAP_MKNOD)")
    with pytest.raises(NotARegularFile), open_output(node, force=True) as fh:
        fh.write(b"snapshot")
    assert stat.S_ISCHR(os.lstat(node).st_mode)


def test_an_error_midway_leaves_the_old_file_whole(tmp_path: Path) -> None:
    out = tmp_path / "snap.html"
    out.write_bytes(b"the old snapshot")
    with pytest.raises(RuntimeError), open_output(out, force=True) as fh:
        fh.write(b"half of the new")
        raise RuntimeError("the lookup failed after the first bytes")
    assert out.read_bytes() == b"the old snapshot"
    assert _leftovers(tmp_path) == []
    with open_output(out, force=True) as fh:
        fh.write(b"the new snapshot")
    assert out.read_bytes() == b"the new snapshot" and _leftovers(tmp_path) == []


def test_without_force_nothing_is_replaced(tmp_path: Path) -> None:
    out = tmp_path / "snap.html"
    out.write_bytes(b"keep")
    with pytest.raises(OutputExists), open_output(out) as fh:
        fh.write(b"new")
    racing = tmp_path / "racing.html"
    with pytest.raises(OutputExists), open_output(racing) as fh:  # appears while we write: not overwritten
        fh.write(b"new")
        racing.write_bytes(b"theirs")
    assert out.read_bytes() == b"keep" and racing.read_bytes() == b"theirs" and _leftovers(tmp_path) == []


def test_a_full_disk_keeps_the_old_file(tmp_path: Path) -> None:
    with small_filesystem(tmp_path / "small", "64k") as disk:
        out = disk / "snap.bin"
        out.write_bytes(b"old" * 1000)
        with pytest.raises(OSError, match="No space left"), open_output(out, force=True) as fh:
            fh.write(os.urandom(256 * 1024))
        assert out.read_bytes() == b"old" * 1000
        assert _leftovers(disk) == []


def _pull(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "scrapy", "pull", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, check=False)


def test_pull_force_onto_a_full_disk_and_onto_a_pipe(tmp_path: Path) -> None:
    warc_dir = tmp_path / "warc"
    write_warc(warc_dir / "a.warc.gz", [(URL, os.urandom(200 * 1024))])
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    proc = _pull(URL, "--warc-dir", str(warc_dir), "-o", str(fifo), "--force")
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines() == [f"scrapy pull: {fifo} is not a regular file (a device, pipe or "
                                                "socket); give a file name, or no -o for stdout"]
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    with small_filesystem(tmp_path / "small", "64k") as disk:
        out = disk / "snap.html"
        out.write_bytes(b"old snapshot")
        proc = _pull(URL, "--warc-dir", str(warc_dir), "-o", str(out), "--force")
        assert proc.returncode == 1 and "No space left" in proc.stderr and "Traceback" not in proc.stderr
        assert out.read_bytes() == b"old snapshot" and _leftovers(disk) == []
