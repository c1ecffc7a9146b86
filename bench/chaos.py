"""Chaos: one crawl of the demo portal with JOBDIR, killed with SIGKILL again and again at random moments, then let
finish; the catalog must hold the ground truth, every report exactly once, and every WARC must verify.

Each kill picks one moment at random (seeded): after the portal has answered a few more pages (mid-crawl: items in
the catalog writer's batch, groups in the WARC writer's queue, frontier rows taken), just after the process logs
``Spider opened`` (the resume is starting), as it starts mending the killed run's ``.open`` WARC (``archive: mending``),
or as the catalog catch-up ends (``resume: catalog caught up``, the incremental state catch-up follows). After the
kills the same command runs to the end. Checked then: exit status 0; the catalog's reports are the portal's ground
truth, each once, with its agency and year; no ``.open`` file is left and every WARC passes ``warcio check`` and
FastWARC's digest check; nothing robots.txt forbids was fetched and the address guard refused nothing; and the
catalog equals one rebuilt from the WARCs.

    .venv/bin/python bench/chaos.py [--kills 10] [--rounds 3] [--seed 1] [--sites trs,hanweb,...] [--reports 5]

``tests/test_reliability_chaos.py`` runs one round of 10 kills on two sites; this runs several rounds on every site
of the portal (any seed) and prints, per round, where each kill landed and the checks.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from archive.verify import verify_warc  # noqa: E402
from crawler.portal import start_portal  # noqa: E402
from pipelines.catalog import sorted_dump  # noqa: E402
from pipelines.catalog.rebuild import rebuild  # noqa: E402

# log lines that mark a moment of the resume: kill as soon as one is seen
MOMENTS = {"startup": "Spider opened", "mend": "archive: mending", "catch-up": "resume: catalog caught up"}


@dataclass
class ChaosResult:
    kills: list[str] = field(default_factory=list)  # where each kill landed
    exit_status: int | None = None
    reports: Counter[str] = field(default_factory=Counter)
    truth: dict[str, tuple[str, int]] = field(default_factory=dict)
    wrong: list[str] = field(default_factory=list)  # reports whose agency/year differ from the ground truth
    bad_warcs: list[str] = field(default_factory=list)
    open_left: list[str] = field(default_factory=list)
    refused: int = 0
    robots_hits: int = 0
    rebuild_equal: bool = False
    seconds: float = 0.0
    stderr_tail: str = ""

    @property
    def lost(self) -> list[str]:
        return sorted(set(self.truth) - set(self.reports))

    @property
    def extra(self) -> list[str]:
        return sorted(set(self.reports) - set(self.truth))

    @property
    def twice(self) -> list[str]:
        return sorted(u for u, n in self.reports.items() if n > 1)

    @property
    def ok(self) -> bool:
        return (self.exit_status == 0 and not self.lost and not self.extra and not self.twice and not self.wrong
                and not self.bad_warcs and not self.open_left and not self.refused and not self.robots_hits
                and self.rebuild_equal)

    def lines(self) -> list[str]:
        return [
            f"kills: {len(self.kills)} ({', '.join(self.kills)})",
            f"final crawl exit status {self.exit_status}; {self.seconds:.0f}s in all",
            f"reports: {sum(self.reports.values())} rows for {len(self.truth)} in the ground truth; lost "
            f"{len(self.lost)}, extra {len(self.extra)}, twice {len(self.twice)}, agency/year wrong {len(self.wrong)}",
            f"WARCs failing verification: {len(self.bad_warcs)}; .open left: {len(self.open_left)}",
            f"refused by the address guard: {self.refused}; robots.txt-forbidden pages fetched: {self.robots_hits}",
            f"catalog equals a rebuild from the WARCs: {self.rebuild_equal}",
            "OK" if self.ok else "FAILED",
        ]


class _Run:
    """One crawl process; its stderr read on a thread, so a kill can follow a log line at once."""

    def __init__(self, cmd: list[str]) -> None:
        self.proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                     errors="replace")
        self.lines: list[str] = []
        self.seen = threading.Condition()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            with self.seen:
                self.lines.append(line)
                self.seen.notify_all()
        with self.seen:
            self.seen.notify_all()

    def wait_for(self, text: str, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self.seen:
            while True:
                if any(text in line for line in self.lines):
                    return True
                if self.proc.poll() is not None and not self.reader.is_alive():
                    return False
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.seen.wait(min(left, 0.05))

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        self.reader.join(timeout=5)


def chaos(work: Path, *, kills: int = 10, seed: int = 1, sites: list[str] | None = None, reports_per_site: int = 5,
          delay: float = 0.25, progress: bool = False) -> ChaosResult:
    """One crawl of a fresh demo portal into ``work``, killed ``kills`` times (see the module docstring)."""
    rng = random.Random(seed)
    started = time.monotonic()
    result = ChaosResult()
    portal = start_portal(host="127.0.0.1", port=0, seed=seed, sites=sites, reports_per_site=reports_per_site)
    try:
        sources = work / "sources.toml"
        portal.write_sources(sources)
        archive = work / "data"
        cmd = [sys.executable, "-m", "scrapy", "crawl", "annual_reports", "-s", f"NIANBAO_SOURCES={sources}",
               "-s", f"ARCHIVE_DIR={archive}", "-s", f"JOBDIR={archive / 'state' / 'job'}", "-s", "LOG_LEVEL=INFO",
               "-s", "AUTOTHROTTLE_ENABLED=False", "-s", "CONCURRENT_REQUESTS=2",
               "-s", f"DOWNLOAD_DELAY={delay}", "-s", "CATALOG_BATCH_SIZE=3"]
        result.truth = {str(r["url"]): (str(r["agency"]), int(r["year"])) for r in portal.ground_truth}
        while len(result.kills) < kills:
            moment = rng.choice(["pages", "pages", "startup", "mend", "catch-up"])
            if moment in ("mend", "catch-up") and not list((archive / "warc").glob("*.open")):
                moment = "pages"  # nothing to mend or catch up yet: the first run is still to be killed
            served = sum(portal.hits.values())
            run = _Run(cmd)
            if moment == "pages":
                more = rng.randint(1, 4)
                deadline = time.monotonic() + 120
                while sum(portal.hits.values()) < served + more and run.proc.poll() is None:
                    if time.monotonic() > deadline:
                        break
                    time.sleep(0.005)
                time.sleep(rng.uniform(0, delay))
                landed = f"pages+{more}"
            else:
                found = run.wait_for(MOMENTS[moment], timeout=30)
                time.sleep(rng.uniform(0, 0.05) if moment == "startup" else 0)
                landed = moment if found else f"{moment}(not seen)"
            if run.proc.poll() is not None:  # it ended before the kill: the crawl is done
                run.reader.join(timeout=5)
                result.kills.append(f"{landed}: finished first")
                break
            run.kill()
            result.kills.append(landed)
            _post_mortem(work, len(result.kills), archive, run)
            if progress:
                print(f"  kill {len(result.kills)}: {landed}", flush=True)
        final = _Run(cmd)
        final.proc.wait(timeout=600)
        final.reader.join(timeout=10)
        _post_mortem(work, len(result.kills) + 1, archive, final)
        result.exit_status = final.proc.returncode
        result.stderr_tail = "".join(final.lines[-40:])
        _check(result, archive, portal)
    finally:
        portal.stop()
        result.seconds = time.monotonic() - started
    return result


def _post_mortem(work: Path, n: int, archive: Path, run: _Run) -> None:
    """What run ``n`` left, for the post-mortem of a failed round: its log, and consistent copies (WAL included)
    of the frontier and the incremental state as the next run finds them."""
    folder = work / "runs"
    folder.mkdir(exist_ok=True)
    (folder / f"{n:02d}.log").write_text("".join(run.lines), encoding="utf-8")
    for name, path in (("frontier", archive / "state" / "job" / "frontier.sqlite"),
                       ("incremental", archive / "state" / "incremental.sqlite")):
        if not path.exists():
            continue
        src = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        dst = sqlite3.connect(folder / f"{n:02d}-{name}.sqlite")
        try:
            src.backup(dst)
        except sqlite3.Error as e:  # a kill can leave it mid-transaction; the next run's own open recovers it
            (folder / f"{n:02d}-{name}.error").write_text(str(e), encoding="utf-8")
        finally:
            src.close()
            dst.close()


def _check(result: ChaosResult, archive: Path, portal: object) -> None:
    catalog = archive / "catalog.sqlite"
    con = sqlite3.connect(catalog)
    try:
        rows = con.execute("SELECT url, agency, year FROM reports").fetchall()
        live = sorted_dump(con)
    finally:
        con.close()
    result.reports = Counter(url for url, _, _ in rows)
    result.wrong = sorted(url for url, agency, year in rows
                          if url in result.truth and result.truth[url] != (agency, year))
    result.open_left = sorted(p.name for p in (archive / "warc").glob("*.open"))
    result.bad_warcs = [f"{p.name}: {problems[0]}" for p in sorted((archive / "warc").glob("*.warc.gz"))
                        if (problems := verify_warc(p))]
    log = archive / "crawl.log"
    events = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()] if log.exists() else []
    result.refused = sum(1 for e in events if e.get("event") == "refused")
    special = getattr(portal, "special", {})
    forbidden = [v for k, v in special.items() if k.endswith("robots_disallowed")]
    hits = getattr(portal, "hits", Counter())
    result.robots_hits = sum(hits.get(urlsplit(str(u)).path, 0) for u in forbidden)
    with tempfile.TemporaryDirectory() as tmp:
        rebuilt = Path(tmp) / "rebuilt.sqlite"
        rebuild(archive / "warc", rebuilt)
        con = sqlite3.connect(rebuilt)
        try:
            result.rebuild_equal = sorted_dump(con) == live
        finally:
            con.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--sites", default="", help="comma list (default: every site of the portal)")
    parser.add_argument("--reports", type=int, default=5, help="reports per site (default 5)")
    parser.add_argument("--delay", type=float, default=0.25, help="DOWNLOAD_DELAY of the crawl (default 0.25)")
    parser.add_argument("--keep", action="store_true", help="keep each round's folder")
    args = parser.parse_args(argv)
    sites = [s.strip() for s in args.sites.split(",") if s.strip()] or None
    failed = 0
    for n in range(args.rounds):
        seed = args.seed + n
        work = Path(tempfile.mkdtemp(prefix=f"nianbao-chaos-{seed}-"))
        print(f"round {n + 1} (seed {seed}, {args.kills} kills) in {work}", flush=True)
        result = chaos(work, kills=args.kills, seed=seed, sites=sites, reports_per_site=args.reports,
                       delay=args.delay, progress=True)
        for line in result.lines():
            print("  " + line, flush=True)
        if not result.ok:
            failed += 1
            print(result.stderr_tail)
            for name in ("lost", "extra", "twice", "wrong", "bad_warcs"):
                values = getattr(result, name)
                if values:
                    print(f"  {name}: {values[:10]}")
        elif not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    print(f"{args.rounds - failed} of {args.rounds} rounds OK")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
