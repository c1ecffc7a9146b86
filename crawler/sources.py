"""Load and validate the registry of annual-report columns (``sources.toml``).

The file is a list of ``[[source]]`` tables::

    [[source]]
    name = "pingtan"                       # unique, used by ``scrapy crawl annual_reports -a source=NAME``
    agency = "平潭综合实验区"
    level = "city"                         # state_council | province | city | county | other
    family = "trs"                         # optional: trs hanweb jsapi ucap govcn mirror generic (else detected)
    urls = ["https://www.pingtan.gov.cn/zwgk/zfxxgk/zfxxgknb/index.html"]
    allowed_domains = ["pingtan.gov.cn"]   # optional; default: the hosts of ``urls``
    seen_at = "https://github.com/…"       # where the URL was seen in public (see sources.toml's header)
    verified = false                       # true once a crawl confirmed it
    obey_robots = true                     # optional; false is logged by the spider
    allow_private = false                  # optional; true only for local test portals

A malformed entry raises :class:`SourceError` with one line naming the file, the line and the field.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from crawler.routing import host_allowed

FAMILIES = ("trs", "hanweb", "jsapi", "ucap", "govcn", "mirror", "generic")
LEVELS = ("state_council", "province", "city", "county", "other")

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_DOMAIN_RE = re.compile(r"^(?:[A-Za-z0-9-]+\.)*[A-Za-z0-9-]+(?::\d+)?$")
_KNOWN_KEYS = frozenset(
    {
        "name",
        "agency",
        "level",
        "family",
        "urls",
        "url",
        "allowed_domains",
        "seen_at",
        "verified",
        "obey_robots",
        "allow_private",
        "notes",
    }
)


class SourceError(ValueError):
    """A ``sources.toml`` entry is malformed; the message names the file, line and field."""


@dataclass(frozen=True)
class Source:
    """One annual-report column (or a few start URLs of the same agency)."""

    name: str
    agency: str
    urls: tuple[str, ...]
    allowed_domains: tuple[str, ...]
    family: str | None = None
    level: str = "other"
    seen_at: str = ""
    verified: bool = False
    obey_robots: bool = True
    allow_private: bool = False
    notes: str = ""
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    def allows(self, url: str) -> bool:
        """True when ``url``'s host is one of ``allowed_domains`` or a subdomain of one."""
        return host_allowed(self.allowed_domains, url)


def load_sources(path: str | Path) -> list[Source]:
    """Parse and validate ``path``; raise :class:`SourceError` (file, line, field) on the first bad entry."""
    p = Path(path)
    if p.exists() and not p.is_dir() and not p.is_file():  # a pipe would block the read for ever
        raise SourceError(f"{p}: not a regular file (set NIANBAO_SOURCES to a sources.toml file)")
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SourceError(f"{p}: file not found (set NIANBAO_SOURCES to a sources.toml)") from None
    except IsADirectoryError:
        raise SourceError(f"{p}: is a directory (set NIANBAO_SOURCES to a sources.toml file)") from None
    except UnicodeDecodeError as e:
        raise SourceError(f"{p}: not UTF-8 ({e.reason} at byte {e.start})") from e
    except OSError as e:
        raise SourceError(f"{p}: cannot be read ({e.strerror or e})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise SourceError(_syntax_error(p, text, e)) from None
    entries = data.get("source", [])
    if not isinstance(entries, list) or not all(isinstance(x, dict) for x in entries):
        raise SourceError(f"{p}:1: 'source' must be an array of tables written [[source]]")
    unknown_top = sorted(set(data) - {"source"})
    if unknown_top:
        raise SourceError(f"{p}:1: unknown top-level key {unknown_top[0]!r} (entries go under [[source]])")
    locator = _Locator(text)
    sources: list[Source] = []
    seen: dict[str, int] = {}
    for index, entry in enumerate(entries):
        src = _validate(entry, index, p, locator)
        if src.name in seen:
            line = locator.line(index, "name")
            raise SourceError(
                f"{p}:{line}: field 'name': duplicate source name {src.name!r} (first at entry {seen[src.name] + 1})"
            )
        seen[src.name] = index
        sources.append(src)
    if not sources:  # a crawl of nothing would end at once with status 0: surely not what was meant
        raise SourceError(f"{p}: no [[source]] entries: nothing to crawl (see sources.toml for the format)")
    return sources


def select_sources(sources: list[Source], name: str | None, path: str | Path | None = None) -> list[Source]:
    """All sources, or the one called ``name``; otherwise a one-line error naming the file, the closest names
    and a few known ones."""
    if not name:
        return sources
    chosen = [s for s in sources if s.name == name]
    if not chosen:
        names = [s.name for s in sources]
        where = f"{path}: " if path is not None else ""
        close = difflib.get_close_matches(name, names, n=3, cutoff=0.6)
        hint = f"did you mean {' or '.join(repr(c) for c in close)}? " if close else ""
        known = ", ".join(names[:8]) + (f", … ({len(names)} in all; see the name = lines)" if len(names) > 8 else "")
        raise SourceError(f"{where}no source named {name!r} ({hint}known: {known or 'none'})")
    return chosen


_TOML_POSITION = re.compile(r"\s*\(at line (\d+), column (\d+)\)\s*$")
_KEY_LINE = re.compile(r"^\s*([A-Za-z0-9_-]+)\s*=")


def _syntax_error(path: Path, text: str, error: tomllib.TOMLDecodeError) -> str:
    """``FILE:LINE: field 'KEY': TOML syntax error: …`` (the field when the line is a ``key = …`` line)."""
    message = " ".join(str(error).split())
    m = _TOML_POSITION.search(message)
    if m is None:  # "(at end of document)": an unclosed array or string, reported where the file ends
        return f"{path}:{max(1, len(text.splitlines()))}: TOML syntax error: {message}"
    line, column = int(m.group(1)), int(m.group(2))
    reason = message[: m.start()]
    lines = text.splitlines()
    key = _KEY_LINE.match(lines[line - 1]) if 0 < line <= len(lines) else None
    field = f" field {key.group(1)!r}:" if key else ""
    return f"{path}:{line}:{field} TOML syntax error: {reason} (at line {line}, column {column})"


class _Locator:
    """Find the line of a field inside the N-th ``[[source]]`` table (tomllib keeps no positions)."""

    _HEADER = re.compile(r"^\s*\[\[\s*source\s*\]\]")

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()
        self.starts = [i for i, line in enumerate(self.lines) if self._HEADER.match(line)]

    def line(self, index: int, key: str | None = None) -> int:
        if index >= len(self.starts):
            return 1
        start = self.starts[index]
        end = self.starts[index + 1] if index + 1 < len(self.starts) else len(self.lines)
        if key:
            key_re = re.compile(rf"^\s*{re.escape(key)}\s*=")
            for i in range(start + 1, end):
                if key_re.match(self.lines[i]):
                    return i + 1
        return start + 1


def _validate(entry: dict[str, Any], index: int, path: Path, loc: _Locator) -> Source:
    def fail(key: str, why: str) -> SourceError:
        return SourceError(f"{path}:{loc.line(index, key)}: field {key!r}: {why}")

    for key in entry:
        if key not in _KNOWN_KEYS:
            raise fail(key, f"unknown field (known: {', '.join(sorted(_KNOWN_KEYS))})")

    def string(key: str, required: bool = False, default: str = "") -> str:
        if key not in entry:
            if required:
                raise SourceError(f"{path}:{loc.line(index)}: field {key!r}: missing in this [[source]] entry")
            return default
        value = entry[key]
        if not isinstance(value, str) or not value.strip():
            raise fail(key, f"must be a non-empty string, got {value!r}")
        return value.strip()

    def boolean(key: str, default: bool) -> bool:
        value = entry.get(key, default)
        if not isinstance(value, bool):
            raise fail(key, f"must be true or false, got {value!r}")
        return value

    name = string("name", required=True)
    if not _NAME_RE.match(name):
        raise fail("name", f"{name!r} must be ASCII letters, digits, '_', '.', '-'")
    agency = string("agency", required=True)

    if "urls" in entry and "url" in entry:
        raise fail("url", "give either 'url' or 'urls', not both")
    if "url" in entry:
        raw_urls: Any = [entry["url"]]
        url_key = "url"
    elif "urls" in entry:
        raw_urls = entry["urls"]
        url_key = "urls"
    else:
        raise SourceError(f"{path}:{loc.line(index)}: field 'urls': missing in this [[source]] entry")
    if not isinstance(raw_urls, list) or not raw_urls:
        raise fail(url_key, "must be a non-empty list of http(s) URLs")
    urls: list[str] = []
    for u in raw_urls:
        parts = urlsplit(u) if isinstance(u, str) else None
        if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
            raise fail(url_key, f"{u!r} is not an absolute http(s) URL")
        urls.append(u.strip())

    if "allowed_domains" in entry:
        doms = entry["allowed_domains"]
        if not isinstance(doms, list) or not doms or not all(isinstance(d, str) for d in doms):
            raise fail("allowed_domains", "must be a non-empty list of host names")
        for d in doms:
            if not _DOMAIN_RE.match(d):
                raise fail("allowed_domains", f"{d!r} is a host name like 'www.gov.cn' (no scheme, no path)")
        allowed = tuple(d.lower() for d in doms)
    else:
        allowed = tuple(dict.fromkeys((urlsplit(u).hostname or "").lower() for u in urls))

    # An empty family means "detect it from the page", like a missing one.
    family = entry["family"].strip() or None if isinstance(entry.get("family"), str) else string("family") or None
    if family is not None and family not in FAMILIES:
        raise fail("family", f"{family!r} is not one of {', '.join(FAMILIES)} (omit it to detect from the page)")
    level = string("level", default="other")
    if level not in LEVELS:
        raise fail("level", f"{level!r} is not one of {', '.join(LEVELS)}")

    src = Source(
        name=name,
        agency=agency,
        urls=tuple(urls),
        allowed_domains=allowed,
        family=family,
        level=level,
        seen_at=string("seen_at"),
        verified=boolean("verified", False),
        obey_robots=boolean("obey_robots", True),
        allow_private=boolean("allow_private", False),
        notes=string("notes"),
    )
    for u in urls:
        if not src.allows(u):
            raise fail(url_key, f"{u!r} is outside allowed_domains {list(allowed)}")
    return src
