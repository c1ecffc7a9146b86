"""`scrapy report FILE` without --json: the key figures of Tables 2–4 as aligned tables under the forms' Chinese
headings (widths counted as a terminal shows them), then the issues; what the report does not say is "not stated".
Expectations come from the generator's ground truth."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from crawler.portal.generator import generate_report
from crawler.portal.render import render_html, render_text
from crawler.report_input import report_from_file, summary_lines, text_width
from tests.conftest import ROOT


def _block(lines: list[str], title: str) -> list[str]:
    start = next(i for i, line in enumerate(lines) if line.startswith(title))
    out = []
    for line in lines[start + 1:]:
        if not line.startswith("  ") or line.startswith("  —"):
            break
        out.append(line)
    return out


def test_tables_are_aligned_with_chinese_headings_and_the_generated_numbers(tmp_path: Path) -> None:
    report = generate_report(11, "2021", "江城市统计局", 2023, broken="missing_cell")
    path = tmp_path / "report.html"
    path.write_text(render_html(report), encoding="utf-8")
    lines = summary_lines(report_from_file(path))
    t3 = _block(lines, "表三")
    assert t3[0].split() == ["申请情况", "自然人", "商业企业", "科研机构", "社会公益组织", "法律服务机构", "其他", "总计"]
    assert len({text_width(line) for line in t3}) == 1, t3  # every row as wide as the header: aligned
    for row_key, label in (("new_received", "本年新收政府信息公开申请数量"), ("granted", "予以公开"),
                           ("carried_forward", "结转下年度继续办理")):
        line = next(line for line in t3 if line.strip().startswith(label + " "))
        cells = [c.rstrip("*") for c in line.split()[1:]]
        assert cells == [str(v) for v in report.tables["applications"][row_key]], (row_key, line)
    (table, row, column), = report.blank_cells  # the blank cell is inferred from the identities: marked *
    line = next(line for line in t3 if line.strip().startswith({"granted": "予以公开", "unable_not_held":
                "无法提供：本机关不掌握相关政府信息", "denied_internal_affairs": "不予公开：属于三类内部事务信息"}[row] + " "))
    assert line.split()[1 + column].endswith("*")
    t4 = _block(lines, "表四")
    assert t4[0].split() == ["结果维持", "结果纠正", "其他结果", "尚未审结", "总计"]
    assert t4[1].split() == ["行政复议", *map(str, report.tables["review_litigation"]["review"])]
    t2 = _block(lines, "表二")
    assert t2[0].split()[:4] == ["信息内容", "本年制发件数", "本年废止件数", "现行有效件数"]
    assert any(line.split()[0] == "规范性文件" for line in t2)
    assert any(line.startswith("  inferred_cell (由勾稽关系推算的单元格): applications") for line in lines)


def test_not_stated_instead_of_none(tmp_path: Path) -> None:
    report = generate_report(5, "2019", "岚城县", 2020)
    path = tmp_path / "report.txt"
    path.write_text(render_text(report).replace(report.published, ""), encoding="utf-8")
    lines = summary_lines(report_from_file(path))
    assert "published: not stated" in lines and not any("None" in line for line in lines)


def test_command_prints_the_tables(tmp_path: Path) -> None:
    report = generate_report(3, "2021", "江城市统计局", 2023)
    path = tmp_path / "r.html"
    path.write_text(render_html(report), encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "scrapy", "report", str(path)], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "表三 收到和处理政府信息公开申请情况 (Table 3)" in proc.stdout and "自然人" in proc.stdout
    assert "None" not in proc.stdout
