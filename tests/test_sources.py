from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT

from crawler.sources import SourceError, load_sources, select_sources

GOOD = """\
# demo
[[source]]
name = "pingtan"
agency = "平潭综合实验区"
level = "city"
family = "trs"
urls = ["https://www.pingtan.gov.cn/zwgk/zfxxgk/zfxxgknb/index.html"]
seen_at = "https://github.com/changwu/pingtan-gov-zwgk-archive"
verified = false

[[source]]
name = "local"
agency = "演示"
url = "http://127.0.0.1:8800/trs/index.html"
allowed_domains = ["127.0.0.1", "files.example.org"]
allow_private = true
obey_robots = false
"""


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "sources.toml"
    p.write_text(text, encoding="utf-8")
    return p


def test_good_file_loads_with_defaults(tmp_path: Path) -> None:
    a, b = load_sources(write(tmp_path, GOOD))
    assert a.name == "pingtan" and a.family == "trs" and a.level == "city"
    assert a.allowed_domains == ("www.pingtan.gov.cn",)
    assert a.obey_robots and not a.allow_private and not a.verified
    assert b.family is None and b.urls == ("http://127.0.0.1:8800/trs/index.html",)
    assert b.allow_private and not b.obey_robots
    assert b.allows("http://files.example.org/a.pdf")
    assert b.allows("http://cdn.files.example.org/a.pdf")
    assert not b.allows("http://example.org/a.pdf")
    assert select_sources([a, b], "local") == [b]
    assert select_sources([a, b], None) == [a, b]


@pytest.mark.parametrize(
    ("replace", "by", "line", "field"),
    [
        ('family = "trs"', 'family = "wordpress"', 6, "family"),
        ('level = "city"', "level = 3", 5, "level"),
        ('verified = false', 'verified = "no"', 9, "verified"),
        ('urls = ["https://www.pingtan.gov.cn/zwgk/zfxxgk/zfxxgknb/index.html"]', 'urls = ["ftp://x/y"]', 7, "urls"),
        ('urls = ["https://www.pingtan.gov.cn/zwgk/zfxxgk/zfxxgknb/index.html"]', "urls = []", 7, "urls"),
        ('name = "local"', 'name = "pingtan"', 12, "name"),
        ('name = "local"', 'name = "has space"', 12, "name"),
        ('allow_private = true', 'allow_privat = true', 16, "allow_privat"),
        ('allowed_domains = ["127.0.0.1", "files.example.org"]', 'allowed_domains = ["http://x.org/"]', 15, "allowed_domains"),
        ('allowed_domains = ["127.0.0.1", "files.example.org"]', 'allowed_domains = ["example.org"]', 14, "url"),
        ('agency = "演示"\n', "", 11, "agency"),
    ],
)
def test_malformed_entry_names_file_line_and_field(
    tmp_path: Path, replace: str, by: str, line: int, field: str
) -> None:
    assert replace in GOOD
    p = write(tmp_path, GOOD.replace(replace, by, 1))
    with pytest.raises(SourceError) as exc:
        load_sources(p)
    msg = str(exc.value)
    assert "\n" not in msg
    assert msg.startswith(f"{p}:{line}: field {field!r}"), msg


def test_syntax_error_and_missing_file_are_one_line(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match=r"TOML syntax error: .*line 3"):
        load_sources(write(tmp_path, '[[source]]\nname = "a"\nagency = \n'))
    p = write(tmp_path, '[[source]]\nname = "a"\nagency = \n')
    with pytest.raises(SourceError, match=rf"^{re.escape(str(p))}:3: field 'agency': TOML syntax error: "):
        load_sources(p)
    p = write(tmp_path, '[[source]]\nname = "a"\nurls = ["http://a.gov.cn/"\n')
    with pytest.raises(SourceError, match=rf"^{re.escape(str(p))}:3: TOML syntax error: .*end of document"):
        load_sources(p)
    with pytest.raises(SourceError, match="file not found"):
        load_sources(tmp_path / "nope.toml")


def test_unknown_source_name_lists_known_ones(tmp_path: Path) -> None:
    sources = load_sources(write(tmp_path, GOOD))
    with pytest.raises(SourceError, match=r"no source named 'x' \(known: pingtan, local\)"):
        select_sources(sources, "x")
    with pytest.raises(SourceError, match=r"^f.toml: no source named 'pingtam' \(did you mean 'pingtan'\? known: "):
        select_sources(sources, "pingtam", "f.toml")


# the console script of the Python running the tests (a clone's own .venv, or any other environment)
SCRAPY = Path(sys.executable).parent / "scrapy"


@pytest.mark.parametrize(
    ("text", "source", "line"),
    [
        (GOOD, "pingtam", r"no source named 'pingtam' \(did you mean 'pingtan'\? known: pingtan, local\)"),
        (GOOD.replace('agency = "演示"', "agency = "), "local", r":13: field 'agency': TOML syntax error: "),
        (GOOD.replace('agency = "演示"\n', ""), "local", r":11: field 'agency': missing in this \[\[source\]\] entry"),
        (GOOD.replace("verified = false", "verified = 0"), "pingtan", r":9: field 'verified': must be true or false"),
    ],
    ids=["unknown-name", "bad-toml", "missing-field", "wrong-type"],
)
def test_scrapy_crawl_ends_with_one_line_not_a_traceback(tmp_path: Path, text: str, source: str, line: str) -> None:
    path = write(tmp_path, text)
    proc = subprocess.run([str(SCRAPY), "crawl", "annual_reports", "-a", f"source={source}",
                           "-s", f"NIANBAO_SOURCES={path}", "-s", f"ARCHIVE_DIR={tmp_path / 'data'}"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("scrapy crawl annual_reports: ")]
    assert len(errors) == 1 and proc.stderr.rstrip().endswith(errors[0]), proc.stderr[-2000:]
    assert re.search(line, errors[0]), errors[0]
    assert str(path) in errors[0]
    assert not (tmp_path / "data").exists(), "the crawl started"


# "https://github.com/OWNER/REPO PATH (what it shows)", or the URL of a public page/document that shows it.
_REPO_PATH = re.compile(r"^https://github\.com/[\w.-]+/[\w.-]+ [^\s(]+\S* ")
_PAGE = re.compile(r"^https?://[^\s/]+\.[^\s/]+/\S+")
# public code the exact-string index holds without a repository name: 'code-index:ID "STRING" (what it shows)'
_CODE_INDEX = re.compile(r'^code-index:(\d+) "([^"]+)" \(.+\)$')


def test_the_real_registry_is_valid_and_large_enough() -> None:
    sources = load_sources(ROOT / "sources.toml")
    assert len(sources) >= 30
    assert all(s.seen_at and not s.verified for s in sources)
    for s in sources:
        cited = s.seen_at
        indexed = _CODE_INDEX.match(cited)
        if indexed:  # the searched string must be part of the column URL it vouches for
            assert any(indexed.group(2) in url for url in s.urls), f"{s.name}: {indexed.group(2)!r} not in {s.urls}"
            continue
        repo_only = re.match(r"^https://github\.com/[\w.-]+/[\w.-]+(?:\s|$)", cited)
        assert (_REPO_PATH.match(cited) if repo_only else _PAGE.match(cited)), f"{s.name}: seen_at {cited!r}"
        assert "file id" not in cited and "no repository" not in cited, s.name
    assert {s.level for s in sources} >= {"state_council", "province", "city", "county"}
    assert len({s.family for s in sources if s.family}) >= 2  # others are detected from the page
