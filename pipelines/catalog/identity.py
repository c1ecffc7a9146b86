"""The catalog's derived identity tables, recomputed whole after every crawl, catch-up and rebuild.

``refresh_identity(conn)`` reads ``reports`` (with their captures, sections and cells) and rewrites, in one
transaction: ``agencies``, ``agency_aliases``, ``agency_notes`` (:mod:`pipelines.catalog.agencies`),
``report_groups``, ``report_members`` (:mod:`pipelines.catalog.groups`) and ``crossyear_checks``
(:mod:`pipelines.catalog.crossyear`). Every row is a function of the stored reports and is written in a fixed
order, so a live crawl and ``scrapy rebuild`` of its WARCs give the same tables byte for byte.
"""

from __future__ import annotations

import sqlite3
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from itertools import groupby
from typing import Any

from pipelines.catalog.agencies import (
    agency_id,
    clean_name,
    column_spelling,
    is_corrected,
    level_of,
    match_key,
    outside_column,
    place_of,
    province_of,
)
from pipelines.catalog.crossyear import IN_FORCE_ROWS, YearReport, check_all
from pipelines.catalog.groups import KIND, Member, build_groups, copy_evidence, copy_reason, medium_of
from pipelines.catalog.groups import tables_digest as _tables_digest
from pipelines.catalog.groups import text_digest as _text_digest
from pipelines.catalog.schema import transaction

DERIVED_TABLES = ("agencies", "agency_aliases", "agency_notes", "report_groups", "report_members",
                  "crossyear_checks")


@dataclass
class IdentityResult:
    reports: int = 0
    canonical: int = 0
    copies: int = 0
    groups: int = 0
    agencies: int = 0
    notes: Counter[str] = field(default_factory=Counter)
    reasons: Counter[str] = field(default_factory=Counter)
    pairs: int = 0
    carryover_checked: int = 0
    in_force_checked: int = 0
    mismatches: Counter[str] = field(default_factory=Counter)

    def summary_line(self) -> str:
        reasons = ", ".join(f"{k} {v}" for k, v in sorted(self.reasons.items()))
        checks = ", ".join(f"{k} in {v} cells" for k, v in sorted(self.mismatches.items())) or "no mismatch"
        return (f"identity: {self.canonical} canonical reports ({self.copies} copies set aside"
                f"{': ' + reasons if reasons else ''}), {self.agencies} agencies; cross-year: {self.pairs} "
                f"consecutive pairs, {checks}")


@dataclass
class _Report:
    report_id: str
    url: str
    title: str | None
    agency: str | None
    year: int | None
    format: str | None
    issue_count: int
    content_type: str | None
    attachment_of: str | None
    source: str | None
    source_agency: str | None
    first_captured_at: str | None
    family: str | None
    key: str = ""
    name_used: str = ""
    column_fixed: bool = False
    outside: bool = False


def refresh_identity(conn: sqlite3.Connection) -> IdentityResult:
    """Recompute every derived identity table from the stored reports (see the module docstring)."""
    reports = _read_reports(conn)
    result = IdentityResult(reports=len(reports))
    agencies, aliases, notes = _resolve_agencies(reports)
    members = [
        Member(report_id=r.report_id, url=r.url, agency_id=agency_id(r.key) if r.key else None, year=r.year,
               title=r.title, issue_count=r.issue_count, medium=medium_of(r.content_type, r.url),
               first_captured_at=r.first_captured_at, attachment_of=r.attachment_of, source=r.source,
               column_place_outside=r.outside, family=r.family, text_digest=None, tables_digest=None,
               corrected=is_corrected(r.title))
        for r in reports
    ]
    # the fingerprints are read only for reports that share a group: a catalog's text is large, and a report
    # alone in its group is compared with nothing
    shared = {m.report_id for g in build_groups(members) if len(g.members) > 1 for m in g.members}
    texts, tables = _fingerprints(conn, shared)
    members = [replace(m, text_digest=texts.get(m.report_id), tables_digest=tables.get(m.report_id))
               if m.report_id in shared else m for m in members]
    groups = build_groups(members)
    group_rows, member_rows = [], []
    for g in groups:
        canon = g.canonical
        differ = sum(1 for m in g.members[1:] if m.tables_digest and canon.tables_digest
                     and m.tables_digest != canon.tables_digest)
        group_rows.append((g.group_id, g.agency_id, g.year, KIND, canon.report_id, len(g.members),
                           len(g.members) - 1, int(any(m.corrected for m in g.members)), differ))
        for rank, m in enumerate(g.members, start=1):
            if rank == 1:
                copy_of = reason = evidence = None
            else:
                facts = copy_evidence(m, canon)
                copy_of, reason, evidence = canon.report_id, copy_reason(facts), ",".join(facts) or None
                result.reasons[reason] += 1
            member_rows.append((m.report_id, g.group_id, m.agency_id, int(rank == 1), rank, copy_of, reason,
                                evidence, m.medium, int(m.corrected), m.first_captured_at, m.text_digest,
                                m.tables_digest))
    result.groups = len(groups)
    result.canonical = len(groups)
    result.copies = len(members) - len(groups)
    canonical_ids = {g.canonical.report_id for g in groups}
    by_id = {r.report_id: r for r in reports}
    canonical_years: dict[str, list[int | None]] = defaultdict(list)
    for g in groups:
        if g.agency_id is not None:
            canonical_years[g.agency_id].append(by_id[g.canonical.report_id].year)
    for row in agencies:
        years = canonical_years.get(row[0], [])
        known = [y for y in years if y is not None]
        row[7] = len(years)
        row[8], row[9] = (min(known), max(known)) if known else (None, None)
    year_reports = []
    cells = _crossyear_cells(conn, canonical_ids)
    for g in groups:
        r = by_id[g.canonical.report_id]
        if g.agency_id is not None and r.year is not None:
            year_reports.append(YearReport(r.report_id, g.agency_id, r.year, r.format, cells.get(r.report_id, {})))
    checks = check_all(year_reports)
    result.pairs, result.carryover_checked = checks.pairs, checks.carryover_checked
    result.in_force_checked = checks.in_force_checked
    mismatches = checks.mismatches or []
    result.mismatches.update(m.code for m in mismatches)
    result.agencies = len(agencies)
    result.notes.update(n[1] for n in notes)
    with transaction(conn):
        for table in DERIVED_TABLES:
            conn.execute(f"DELETE FROM {table}")
        conn.executemany("INSERT INTO agencies (agency_id, name, match_key, level, province, place, reports,"
                         " canonical_reports, first_year, last_year) VALUES (?,?,?,?,?,?,?,?,?,?)",
                         sorted(tuple(a) for a in agencies))
        conn.executemany("INSERT INTO agency_aliases (alias, agency_id, reason, reports) VALUES (?,?,?,?)",
                         sorted(aliases))
        conn.executemany("INSERT INTO agency_notes (report_id, code, printed, column_agency, agency_id, detail)"
                         " VALUES (?,?,?,?,?,?)", sorted(notes))
        conn.executemany("INSERT INTO report_groups (group_id, agency_id, year, kind, canonical_report_id, members,"
                         " copies, corrected, tables_differ) VALUES (?,?,?,?,?,?,?,?,?)", group_rows)
        conn.executemany("INSERT INTO report_members (report_id, group_id, agency_id, canonical, rank, copy_of,"
                         " reason, evidence, medium, corrected, first_captured_at, text_digest, tables_digest)"
                         " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", sorted(member_rows))
        conn.executemany("INSERT INTO crossyear_checks (report_id, previous_report_id, agency_id, year, code,"
                         " table_key, row_key, column_key, value, previous_value, expected, detail)"
                         " VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", sorted(m.row() for m in mismatches))
    return result


def _read_reports(conn: sqlite3.Connection) -> list[_Report]:
    first: dict[str, str] = {}
    for url, at in conn.execute("SELECT url, min(captured_at) FROM captures WHERE outcome = 'report' GROUP BY url"):
        if at is not None:
            first[url] = at
    rows = conn.execute(
        "SELECT r.id, r.url, r.title, r.agency, r.year, r.format, r.issue_count, r.content_type, r.attachment_of,"
        " r.source, r.source_agency, r.captured_at, c.family FROM reports r"
        " LEFT JOIN captures c ON c.record_id = r.warc_record_id ORDER BY r.id").fetchall()
    return [_Report(rid, url, title, agency, year, fmt, int(issues or 0), ctype, att, source, src_agency,
                    first.get(url, captured), family)
            for rid, url, title, agency, year, fmt, issues, ctype, att, source, src_agency, captured, family in rows]


def _fingerprints(conn: sqlite3.Connection, ids: set[str]) -> tuple[dict[str, str], dict[str, str]]:
    """``same_text`` and ``same_tables`` fingerprints of the reports ``ids``."""
    if not ids:
        return {}, {}
    conn.execute("CREATE TEMP TABLE IF NOT EXISTS identity_ids (id TEXT PRIMARY KEY)")
    conn.execute("DELETE FROM identity_ids")
    conn.executemany("INSERT INTO identity_ids VALUES (?)", [(i,) for i in sorted(ids)])
    try:
        texts = dict(_digests(conn, "SELECT report_id, text FROM sections WHERE report_id IN (SELECT id FROM"
                                    " identity_ids) ORDER BY report_id, path",
                              lambda rows: _text_digest(r[1] for r in rows)))
        tables = dict(_digests(conn, "SELECT report_id, table_key, row_key, column_key, value FROM table_cells"
                                     " WHERE report_id IN (SELECT id FROM identity_ids) ORDER BY report_id",
                               lambda rows: _tables_digest((r[1], r[2], r[3], r[4]) for r in rows)))
    finally:
        conn.execute("DROP TABLE identity_ids")
    return texts, tables


def _digests(conn: sqlite3.Connection, query: str, digest: Any) -> Iterator[tuple[str, str]]:
    for rid, rows in groupby(conn.execute(query), key=lambda row: row[0]):
        value = digest(list(rows))
        if value is not None:
            yield rid, value


def _resolve_agencies(reports: list[_Report]) -> tuple[list[list[Any]], list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Match keys for every report (rules 1–3 of :mod:`pipelines.catalog.agencies`), the agencies with their
    display names, the alias rows and the notes."""
    notes: list[tuple[Any, ...]] = []
    names: dict[str, Counter[str]] = defaultdict(Counter)  # key -> cleaned spelling -> reports
    preferred: dict[str, set[str]] = defaultdict(set)  # key -> spellings a column gives
    for r in reports:
        column = clean_name(r.source_agency)
        printed = clean_name(r.agency) or column
        name = printed
        fixed = column_spelling(printed, column)
        if fixed is not None:
            name, r.column_fixed = fixed, True
            notes.append((r.report_id, "ocr_or_typo", r.agency, r.source_agency, None,
                          f"printed {printed}, read as {fixed}: one character off the column's {column}"))
        elif name and column and not place_of(name) and place_of(column) and level_of(name) == "unknown":
            name = place_of(column) + name  # a department named without its place, in that place's column
        r.name_used, r.key = name, match_key(name)
        if not r.key:
            continue
        if column and outside_column(name, column):
            r.outside = True
            notes.append((r.report_id, "outside_column", r.agency, r.source_agency, None,
                          f"{name} found in the column of {column}"))
        names[r.key][name] += 1
        if column and (match_key(column) == r.key or r.column_fixed):
            preferred[r.key].add(column if match_key(column) == r.key else name)
    key_of = {r.report_id: r.key for r in reports}
    notes = [(rid, code, printed, col, agency_id(key_of[rid]) if key_of[rid] else None, detail)
             for rid, code, printed, col, _, detail in notes]
    agencies: list[list[Any]] = []
    display: dict[str, str] = {}
    for key, spellings in names.items():
        pool = preferred[key] or set(spellings)
        name = min(pool, key=lambda s: (-len(s), -spellings.get(s, 0), s))
        display[key] = name
        count = sum(spellings.values())
        agencies.append([agency_id(key), name, key, level_of(name), province_of(name), place_of(name) or None,
                         count, 0, None, None])
    alias_counts: Counter[tuple[str, str, str]] = Counter()
    for r in reports:
        if not r.key:
            continue
        aid = agency_id(r.key)
        raw = (r.agency or r.source_agency or "").strip()
        if raw:
            if r.column_fixed:
                reason = "ocr_or_typo"
            elif raw == display[r.key]:
                reason = "canonical"
            elif clean_name(raw) != raw and clean_name(raw) == display[r.key]:
                reason = "spelling"  # the same name with spaces, punctuation or Traditional characters
            else:
                reason = "variant"
            alias_counts[(raw, aid, reason)] += 1
        column = (r.source_agency or "").strip()
        if column and column != raw and match_key(clean_name(column)) == r.key:
            alias_counts[(column, aid, "column")] += 1
    aliases = [(alias, aid, reason, n) for (alias, aid, reason), n in alias_counts.items()]
    return agencies, aliases, notes


def _crossyear_cells(conn: sqlite3.Connection, canonical: set[str]) -> dict[str, dict[tuple[str, str, str], Any]]:
    rows = ("carried_over", "carried_forward", *IN_FORCE_ROWS)
    out: dict[str, dict[tuple[str, str, str], Any]] = defaultdict(dict)
    query = ("SELECT report_id, table_key, row_key, column_key, value FROM table_cells"
             f" WHERE row_key IN ({','.join('?' * len(rows))})")
    for rid, table, row, column, value in conn.execute(query, rows):
        if rid in canonical and value is not None and not isinstance(value, str):
            out[rid][(table, row, column)] = value
    return out
