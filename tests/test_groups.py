"""Report identity on a small hand-made catalog: canonical agencies (aliases, OCR confusions, levels), report groups
(the canonical rule, every copy's reason), cross-year checks (carryover_mismatch, in_force_mismatch), and that the
derived tables are the same whatever order the reports were stored in."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from pipelines.catalog import open_catalog, sorted_dump
from pipelines.catalog.agencies import (
    agency_id,
    column_spelling,
    is_corrected,
    level_of,
    match_key,
    outside_column,
    province_of,
)
from pipelines.catalog.groups import medium_of
from pipelines.catalog.identity import refresh_identity
from pipelines.catalog.labels import APPLICANT_COLUMNS


@pytest.mark.parametrize(("a", "b"), [
    ("江城市人民政府", "江城市"), ("江城市政府", "江城市"), ("江城市人民政府办公室", "江城市政府办公厅"),
    ("江城市政府办", "江城市人民政府办公室"), ("江城市发展和改革委员会", "江城市发改委"),
    ("江城市卫生健康委员会", "江城市卫健委"), ("江 城 市 財政局", "江城市财政局"),
])
def test_printed_variants_share_one_key(a: str, b: str) -> None:
    assert match_key(a) == match_key(b)


def test_different_agencies_keep_different_keys() -> None:
    keys = {match_key(n) for n in ("江城市", "江城市财政局", "江南市财政局", "江城市统计局", "岚城县")}
    assert len(keys) == 5


@pytest.mark.parametrize(("name", "level"), [
    ("国务院办公厅", "state_council"), ("国家发展和改革委员会", "state_council"), ("教育部", "state_council"),
    ("广州海关", "state_council"), ("江苏省人民政府", "province"), ("江苏省交通运输厅", "province"),
    ("上海市人民政府", "province"), ("新疆维吾尔自治区生态环境厅", "province"), ("江城市财政局", "city"),
    ("平潭综合实验区", "city"), ("岚城县发展和改革委员会", "county"), ("北京市朝阳区财政局", "county"),
    ("云溪区", "county"), ("白沙镇", "township"), ("机关事务管理中心", "unknown"),
])
def test_level_from_the_name(name: str, level: str) -> None:
    assert level_of(name) == level


def test_province_ocr_and_columns() -> None:
    assert province_of("江苏省交通运输厅") == "江苏省" and province_of("广西中医药管理局") == "广西壮族自治区"
    assert province_of("江城市") is None
    assert column_spelling("沐阳县财政局", "沭阳县") == "沭阳县财政局"  # one character off the column's name
    assert column_spelling("沭阳县财政局", "沭阳县") is None
    assert column_spelling("江城县财政局", "江城市") is None  # a different kind of place is not a misprint
    assert column_spelling("岚山县财政局", "沭阳县") is None  # two characters off: another place
    assert outside_column("岚城县财政局", "江城市") and not outside_column("江城市财政局", "江城市")
    assert outside_column("江城市", "国务院办公厅") and not outside_column("教育部", "国务院办公厅")
    assert is_corrected("X2023年度政府信息公开工作年度报告（更正版）") and not is_corrected("X2023年度报告")
    assert [medium_of(c) for c in ("text/html", "application/pdf", "application/msword", "image/png")] == [
        "html", "pdf", "doc", "other"]


# --- a hand-made catalog ----------------------------------------------------------------------------------------

def _cells(carried_over: list[int] | None = None, carried_forward: list[int] | None = None,
           in_force: tuple[int, int, int] | None = None, base: int = 0) -> list[tuple[str, str, str, Any]]:
    out: list[tuple[str, str, str, Any]] = []
    for row, values in (("carried_over", carried_over), ("carried_forward", carried_forward)):
        if values is not None:
            out += [("applications", row, col, v) for col, v in zip(APPLICANT_COLUMNS, [*values, sum(values)],
                                                                     strict=True)]
    out += [("applications", "granted", col, base + i) for i, col in enumerate(APPLICANT_COLUMNS)]
    out += [("review_litigation", "review", col, base) for col in ("maintained", "corrected", "other", "pending")]
    if in_force is not None:
        out += [("active_disclosure", "normative_documents", c, v)
                for c, v in zip(("issued", "abolished", "in_force"), in_force, strict=True)]
    return out


REPORTS: list[dict[str, Any]] = [
    # 2022 and 2023 of 江城市财政局: the page, its PDF 附件, a mirror copy; 2023 continues 2022 except one column
    {"id": "p22", "url": "http://a.test/2022.htm", "agency": "江城市财政局", "year": 2022, "issues": 0,
     "ctype": "text/html", "source": "jc", "col": "江城市", "at": "2025-01-02T00:00:00Z",
     "cells": _cells([1, 0, 0, 0, 0, 0], [2, 1, 0, 0, 0, 0], (3, 1, 50)), "text": "甲" * 80},
    {"id": "f22", "url": "http://a.test/2022.pdf", "agency": "江城市财政局", "year": 2022, "issues": 0,
     "ctype": "application/pdf", "source": "jc", "col": "江城市", "at": "2025-01-01T00:00:00Z",
     "attachment_of": "http://a.test/2022.htm", "cells": _cells([1, 0, 0, 0, 0, 0], [2, 1, 0, 0, 0, 0], (3, 1, 50))},
    {"id": "m22", "url": "http://m.test/9.html", "agency": "江城市財政局", "year": 2022, "issues": 1,
     "ctype": "text/html", "source": "mir", "col": "青山县", "family": "mirror", "at": "2024-12-01T00:00:00Z",
     "cells": _cells([1, 0, 0, 0, 0, 0], [2, 1, 0, 0, 0, 0], (3, 1, 50)), "text": "甲" * 80},
    {"id": "p23", "url": "http://a.test/2023.htm", "agency": "江城市 财政局", "year": 2023, "issues": 0,
     "ctype": "text/html", "source": "jc", "col": "江城市", "at": "2025-01-03T00:00:00Z",
     "cells": _cells([2, 3, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0], (2, 0, 52), base=1)},
    # 2023's original printed wrong, its 更正版 right: the corrected one has fewer issues
    {"id": "x23", "url": "http://a.test/2023-wrong.htm", "agency": "江城市财政局", "year": 2023, "issues": 2,
     "ctype": "text/html", "source": "jc", "col": "江城市", "at": "2025-01-01T00:00:00Z",
     "cells": _cells([2, 3, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0], (2, 0, 99), base=1)},
    # 沭阳县: a report printed 沐阳县 in the 沭阳县 column, reposted in the 江城市 column (a DOCX)
    {"id": "s21", "url": "http://s.test/2021.htm", "agency": "沐阳县财政局", "year": 2021, "issues": 0,
     "ctype": "text/html", "source": "sy", "col": "沭阳县", "at": "2025-02-01T00:00:00Z",
     "cells": _cells(None, [4, 0, 0, 0, 0, 0], None, base=2)},
    {"id": "r21", "url": "http://a.test/sy2021.docx", "agency": "沭阳县财政局", "year": 2021, "issues": 0,
     "ctype": "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "source": "jc",
     "col": "江城市", "at": "2025-01-01T00:00:00Z", "cells": _cells(None, [4, 0, 0, 0, 0, 0], None, base=2)},
    {"id": "s22", "url": "http://s.test/2022.htm", "agency": "沭阳县财政局", "year": 2022, "issues": 0,
     "ctype": "text/html", "source": "sy", "col": "沭阳县", "at": "2025-02-02T00:00:00Z",
     "cells": _cells([4, 0, 0, 0, 0, 0], None, None, base=3)},
    # a report without a year is a group of its own
    {"id": "n00", "url": "http://a.test/none.htm", "agency": "江城市财政局", "year": None, "issues": 5,
     "ctype": "text/html", "source": "jc", "col": "江城市", "at": "2025-01-05T00:00:00Z", "cells": []},
]
REPORTS[4]["title"] = "江城市财政局2023年度政府信息公开工作年度报告"
REPORTS[3]["title"] = "江城市财政局2023年度政府信息公开工作年度报告（更正）"


def _store(path: Path, reports: list[dict[str, Any]]) -> sqlite3.Connection:
    conn = open_catalog(path)
    for r in reports:
        record = f"<urn:uuid:{r['id']}>"
        conn.execute("INSERT INTO captures (record_id, url, captured_at, source, source_agency, family, attachment_of,"
                     " outcome) VALUES (?,?,?,?,?,?,?, 'report')",
                     (record, r["url"], r["at"], r["source"], r["col"], r.get("family", "trs"), r.get("attachment_of")))
        conn.execute("INSERT INTO reports (id, url, title, agency, year, format, issue_count, source, source_agency,"
                     " content_type, attachment_of, captured_at, warc_record_id) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                     (r["id"], r["url"], r.get("title"), r["agency"], r["year"], "2021", r["issues"], r["source"],
                      r["col"], r["ctype"], r.get("attachment_of"), r["at"], record))
        conn.executemany("INSERT INTO table_cells (report_id, table_key, row_key, column_key, row_order, column_order,"
                         " value, inferred, source) VALUES (?,?,?,?,0,0,?,0,'text')", [(r["id"], *c) for c in r["cells"]])
        if r.get("text"):
            conn.execute("INSERT INTO sections (report_id, path, key, text) VALUES (?, '001', 'overview', ?)",
                         (r["id"], r["text"]))
    return conn


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory) -> sqlite3.Connection:
    conn = _store(tmp_path_factory.mktemp("groups") / "catalog.sqlite", REPORTS)
    refresh_identity(conn)
    return conn


def test_one_canonical_report_per_agency_and_year(catalog: sqlite3.Connection) -> None:
    members = {rid: (gid, canon, copy_of, reason, evidence) for rid, gid, canon, copy_of, reason, evidence in
               catalog.execute("SELECT report_id, group_id, canonical, copy_of, reason, evidence FROM report_members")}
    assert len(members) == len(REPORTS)
    canonical = {rid for rid, m in members.items() if m[1]}
    # fewest issues first (m22 has one, x23 two); then HTML over PDF (p22 over f22, though f22 was captured
    # first); then HTML over DOCX (s21 over r21)
    assert canonical == {"p22", "p23", "s21", "s22", "n00"}
    assert members["f22"][2:4] == ("p22", "attachment_of")
    assert members["m22"][2:4] == ("p22", "mirror") and members["m22"][4] == "mirror,reposted,same_text,same_tables"
    assert members["x23"][2:4] == ("p23", "corrected_reissue")
    assert members["r21"][2:4] == ("s21", "reposted") and members["r21"][4] == "reposted,same_tables"
    groups = catalog.execute("SELECT count(*), sum(copies), sum(corrected), sum(tables_differ) FROM report_groups")
    assert groups.fetchone() == (5, 4, 1, 1)  # x23's tables differ from its canonical's (in force 99, not 52)


def test_agencies_aliases_and_notes(catalog: sqlite3.Connection) -> None:
    agencies = {name: (level, n, canon) for name, level, n, canon in
                catalog.execute("SELECT name, level, reports, canonical_reports FROM agencies")}
    assert agencies == {"江城市财政局": ("city", 6, 3), "沭阳县财政局": ("county", 3, 2)}
    aliases = set(catalog.execute("SELECT alias, reason, reports FROM agency_aliases"))
    assert ("江城市 财政局", "spelling", 1) in aliases and ("江城市財政局", "spelling", 1) in aliases
    assert ("沐阳县财政局", "ocr_or_typo", 1) in aliases and ("沭阳县财政局", "canonical", 2) in aliases
    notes = set(catalog.execute("SELECT report_id, code, printed, column_agency FROM agency_notes"))
    assert notes == {("s21", "ocr_or_typo", "沐阳县财政局", "沭阳县"),
                     ("r21", "outside_column", "沭阳县财政局", "江城市"),
                     ("m22", "outside_column", "江城市財政局", "青山县")}


def test_crossyear_checks_compare_canonical_reports_only(catalog: sqlite3.Connection) -> None:
    rows = catalog.execute("SELECT report_id, previous_report_id, agency_id, year, code, row_key, column_key, value,"
                           " previous_value, expected FROM crossyear_checks ORDER BY code, column_key").fetchall()
    jc = agency_id(match_key("江城市财政局"))
    assert rows == [
        # 2023 carried over 2 and 3 where 2022 carried forward 2 and 1: the commercial column and the total
        ("p23", "p22", jc, 2023, "carryover_mismatch", "carried_over", "commercial", 3, 1, 1),
        ("p23", "p22", jc, 2023, "carryover_mismatch", "carried_over", "total", 5, 3, 3),
        # in force 52 = 50 + 2 − 0 holds for the canonical 2023 (the wrong original's 99 is not checked)
        # 沭阳县 2022 carried over what 2021 (s21, printed 沐阳县) carried forward: no mismatch
    ]
    assert not [r for r in rows if r[0] in ("x23", "m22", "f22", "r21")]


def test_in_force_mismatch_is_reported_with_the_expected_value(tmp_path: Path) -> None:
    reports = [dict(REPORTS[0]), dict(REPORTS[3])]
    reports[1]["cells"] = _cells([2, 1, 0, 0, 0, 0], [0] * 6, (2, 1, 60), base=1)
    conn = _store(tmp_path / "c.sqlite", reports)
    result = refresh_identity(conn)
    rows = conn.execute("SELECT code, row_key, column_key, value, previous_value, expected, detail"
                        " FROM crossyear_checks").fetchall()
    assert rows == [("in_force_mismatch", "normative_documents", "in_force", 60, 50, 51,
                     "现行有效 2023 = 60 but 2022 现行有效 50 + 制发 2 − 废止 1 = 51")]
    assert result.pairs == 1 and result.carryover_checked == 7 and result.in_force_checked == 1


def test_derived_tables_do_not_depend_on_storing_order(tmp_path: Path, catalog: sqlite3.Connection) -> None:
    other = _store(tmp_path / "reversed.sqlite", list(reversed(REPORTS)))
    refresh_identity(other)
    refresh_identity(other)  # and refreshing again changes nothing
    assert sorted_dump(other) == sorted_dump(catalog)
