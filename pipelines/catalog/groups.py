"""Report identity: every stored report belongs to one group (agency × year × kind), and one member is canonical.

The rule (docs/schema.md, "Report groups"), applied to the members of a group:

1. **fewest parse issues** (``reports.issue_count``: what the parser could not read or check);
2. then the **medium**: an HTML page (or plain text) over a PDF over a Word file (DOC, DOCX, WPS) over anything
   else;
3. then the **earliest capture** (the first time any capture of the URL was parsed as a report);
4. then the URL, so that ties always break the same way.

Every other member is a copy of the canonical one. Its ``reason`` is the first provenance fact that holds —
``attachment_of`` (one is the other's attachment, or both hang off one page), ``corrected_reissue`` (a title says
更正/修订/…), ``mirror`` (captured on a mirror site), ``reposted`` (found in another agency's column) — else the
first content fact — ``same_text`` (same normalised text), ``same_tables`` (same table values) — else
``same_agency_year``. ``evidence`` lists every fact that holds, in that order.

Pure: a function of the member records, which are a function of the catalog rows, so a rebuild regroups the same.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field

KIND = "annual"  # 政府信息公开工作年度报告; a corrected re-issue stays in its report's group, marked ``corrected``
MEDIA: tuple[str, ...] = ("html", "pdf", "doc", "other")
PROVENANCE = ("attachment_of", "corrected_reissue", "mirror", "reposted")
CONTENT = ("same_text", "same_tables")
MIN_TABLE_VALUES = 10  # fewer filled cells than this say too little for two reports to be "the same tables"


def medium_of(content_type: str | None, url: str = "") -> str:
    """``html`` (HTML or plain text), ``pdf``, ``doc`` (DOC, DOCX, WPS) or ``other``."""
    ctype = (content_type or "").split(";")[0].strip().lower()
    path = url.lower().split("?")[0]
    if ctype in ("text/html", "application/xhtml+xml", "text/plain", "text/markdown") or ctype.startswith("text/"):
        return "html"
    if ctype == "application/pdf" or path.endswith(".pdf"):
        return "pdf"
    if "word" in ctype or ctype in ("application/msword", "application/vnd.ms-works", "application/wps-office.wps") \
            or path.endswith((".doc", ".docx", ".wps")):
        return "doc"
    return "other"


@dataclass(frozen=True)
class Member:
    """What the grouping rule reads about one report."""

    report_id: str
    url: str
    agency_id: str | None
    year: int | None
    title: str | None
    issue_count: int
    medium: str
    first_captured_at: str | None
    attachment_of: str | None
    source: str | None
    column_place_outside: bool  # its agency is not the column's (agencies.outside_column)
    family: str | None
    text_digest: str | None
    tables_digest: str | None
    corrected: bool

    def rank_key(self) -> tuple[int, int, str, str]:
        return (self.issue_count, MEDIA.index(self.medium), self.first_captured_at or "\uffff", self.url)


@dataclass
class Group:
    group_id: str
    agency_id: str | None
    year: int | None
    members: list[Member] = field(default_factory=list)  # in rank order, the canonical first

    @property
    def canonical(self) -> Member:
        return self.members[0]


def group_id(agency_id: str | None, year: int | None, kind: str = KIND, alone: str | None = None) -> str:
    """``g-`` and 12 hex digits of the group's key; a report without agency or year is a group alone."""
    key = f"{agency_id}|{year}|{kind}" if alone is None else f"alone|{alone}"
    return "g-" + hashlib.sha1(key.encode("utf-8")).hexdigest()[:12]


def build_groups(members: Iterable[Member]) -> list[Group]:
    """Members grouped by agency, year and kind, each group in rank order; groups sorted by id."""
    groups: dict[str, Group] = {}
    for m in members:
        alone = m.report_id if m.agency_id is None or m.year is None else None
        gid = group_id(m.agency_id, m.year, alone=alone)
        groups.setdefault(gid, Group(gid, m.agency_id, m.year)).members.append(m)
    for g in groups.values():
        g.members.sort(key=Member.rank_key)
    return [groups[k] for k in sorted(groups)]


def copy_evidence(copy: Member, canonical: Member) -> list[str]:
    """Every fact that links ``copy`` to ``canonical``, provenance first (see the module docstring)."""
    facts: list[str] = []
    if (copy.attachment_of and copy.attachment_of in (canonical.url, canonical.attachment_of)) or (
            canonical.attachment_of and canonical.attachment_of == copy.url):
        facts.append("attachment_of")
    if copy.corrected or canonical.corrected:
        facts.append("corrected_reissue")
    if "mirror" in (copy.family, canonical.family):
        facts.append("mirror")
    if copy.source != canonical.source and (copy.column_place_outside or canonical.column_place_outside):
        facts.append("reposted")
    if copy.text_digest is not None and copy.text_digest == canonical.text_digest:
        facts.append("same_text")
    if copy.tables_digest is not None and copy.tables_digest == canonical.tables_digest:
        facts.append("same_tables")
    return facts


def copy_reason(evidence: list[str]) -> str:
    return evidence[0] if evidence else "same_agency_year"


def text_digest(texts: Iterable[str | None]) -> str | None:
    """SHA-1 of the report's text with everything but letters and digits removed (None for no text)."""
    joined = "".join(ch for text in texts if text for ch in text if ch.isalnum())
    if len(joined) < 50:
        return None
    return hashlib.sha1(joined.encode("utf-8")).hexdigest()


def tables_digest(cells: Iterable[tuple[str, str, str, object]]) -> str | None:
    """SHA-1 of the filled table cells ``(table, row, column, value)``; None when fewer than
    :data:`MIN_TABLE_VALUES` are filled."""
    filled = sorted((t, r, c, _canonical_number(v)) for t, r, c, v in cells if v is not None)
    if len(filled) < MIN_TABLE_VALUES:
        return None
    return hashlib.sha1(repr(filled).encode("utf-8")).hexdigest()


def _canonical_number(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
