"""``scrapy export --plots``: the two charts a researcher looks at first.

``coverage.png``: reports per agency and year (a heat map with the counts written in). ``applications.png``:
applications received per year (the ``new_received`` totals, a line) and how they were handled (the outcome rows of
Table 3, stacked bars). Each ``*_data`` function returns exactly the numbers its chart draws.

Agency names are drawn in Chinese when a CJK font is installed, else in pinyin (so no glyph turns into a box).
"""

from __future__ import annotations

import sqlite3
from contextlib import AbstractContextManager, nullcontext
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib import font_manager, rc_context
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from pypinyin import lazy_pinyin

OUTCOME_GROUPS = ("granted", "partially_granted", "denied", "unable", "not_processed", "other")
_PREFIXES = (("denied_", "denied"), ("unable_", "unable"), ("not_processed_", "not_processed"),
             ("other", "other"))  # other_overdue_correction, other_unpaid_fee, other_other; 2019's ``other``
CJK_FONTS = ("Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "WenQuanYi Micro Hei", "WenQuanYi Zen Hei",
             "Droid Sans Fallback", "AR PL UMing CN", "SimHei", "Microsoft YaHei", "PingFang SC")


def coverage_data(conn: sqlite3.Connection) -> pd.DataFrame:
    """Reports per agency (rows) and year (columns); 0 where none."""
    frame = pd.read_sql_query(
        "SELECT coalesce(agency, '?') AS agency, year, count(*) AS n FROM reports WHERE year IS NOT NULL"
        " GROUP BY 1, 2", conn)
    if frame.empty:
        return pd.DataFrame()
    table = frame.pivot(index="agency", columns="year", values="n").fillna(0).astype(int)
    return table.sort_index().reindex(sorted(table.columns), axis=1)


def applications_data(conn: sqlite3.Connection) -> pd.DataFrame:
    """Per year, summed over reports: ``received`` (new_received, total column) and the outcome groups."""
    cells = pd.read_sql_query(
        "SELECT r.year, c.row_key, c.value FROM table_cells c JOIN reports r ON r.id = c.report_id"
        " WHERE c.table_key = 'applications' AND c.column_key = 'total' AND r.year IS NOT NULL"
        " AND c.value IS NOT NULL", conn)
    columns = ["received", *OUTCOME_GROUPS]
    if cells.empty:
        return pd.DataFrame(columns=columns)
    cells["group"] = cells["row_key"].map(_group_of)
    cells = cells.dropna(subset=["group"])
    table = cells.pivot_table(index="year", columns="group", values="value", aggfunc="sum", fill_value=0)
    return table.reindex(columns=columns, fill_value=0).sort_index()


def _group_of(row_key: str) -> str | None:
    if row_key == "new_received":
        return "received"
    if row_key in ("granted", "partially_granted"):
        return row_key
    return next((group for prefix, group in _PREFIXES if row_key.startswith(prefix)), None)


@lru_cache(maxsize=1)
def cjk_font() -> str | None:
    installed = {f.name for f in font_manager.fontManager.ttflist}
    return next((name for name in CJK_FONTS if name in installed), None)


def agency_label(name: str) -> str:
    if cjk_font() is not None or name.isascii():
        return name
    return "".join(s.capitalize() for s in lazy_pinyin(name))


def _fonts() -> AbstractContextManager[Any]:
    """Matplotlib settings while one chart is drawn: the CJK font first, when there is one (no pyplot, no global
    state left behind)."""
    font = cjk_font()
    return rc_context({"font.sans-serif": [font, "DejaVu Sans"]}) if font is not None else nullcontext()


def plot_coverage(data: pd.DataFrame, path: Path) -> Path:
    with _fonts():
        return _plot_coverage(data, path)


def _plot_coverage(data: pd.DataFrame, path: Path) -> Path:
    rows, cols = max(len(data.index), 1), max(len(data.columns), 1)
    fig = Figure(figsize=(max(6.0, 0.9 * cols + 4), max(3.0, 0.45 * rows + 1.5)), dpi=100)
    ax = fig.subplots()
    if data.empty:
        ax.text(0.5, 0.5, "no reports", ha="center", va="center")
        ax.set_axis_off()
    else:
        image = ax.imshow(data.to_numpy(), cmap="YlGnBu", aspect="auto", vmin=0)
        ax.set_xticks(range(len(data.columns)), [str(c) for c in data.columns])
        ax.set_yticks(range(len(data.index)), [agency_label(a) for a in data.index])
        for i in range(len(data.index)):
            for j in range(len(data.columns)):
                value = int(data.iat[i, j])
                if value:
                    ax.text(j, i, str(value), ha="center", va="center", fontsize=8,
                            color="white" if value > data.to_numpy().max() / 2 else "black")
        fig.colorbar(image, ax=ax, label="reports", ticks=MaxNLocator(integer=True))
        ax.set_xlabel("report year")
    ax.set_title("Coverage: annual reports per agency and year")
    fig.tight_layout()
    fig.savefig(path)
    return path


def plot_applications(data: pd.DataFrame, path: Path) -> Path:
    with _fonts():
        return _plot_applications(data, path)


def _plot_applications(data: pd.DataFrame, path: Path) -> Path:
    fig = Figure(figsize=(8, 4.5), dpi=100)
    ax = fig.subplots()
    if data.empty:
        ax.text(0.5, 0.5, "no Table 3 data", ha="center", va="center")
        ax.set_axis_off()
    else:
        years = [str(y) for y in data.index]
        bottom = [0.0] * len(years)
        for group in OUTCOME_GROUPS:
            values = [float(v) for v in data[group]]
            ax.bar(years, values, bottom=bottom, label=group.replace("_", " "))
            bottom = [b + v for b, v in zip(bottom, values, strict=True)]
        ax.plot(years, [float(v) for v in data["received"]], color="black", marker="o", label="received (new)")
        ax.set_xlabel("report year")
        ax.set_ylabel("applications")
        ax.legend(fontsize=8, ncol=2)
    ax.set_title("Applications received and how they were handled")
    fig.tight_layout()
    fig.savefig(path)
    return path


def write_plots(conn: sqlite3.Connection, out_dir: Path) -> dict[str, Path]:
    return {
        "coverage": plot_coverage(coverage_data(conn), out_dir / "coverage.png"),
        "applications": plot_applications(applications_data(conn), out_dir / "applications.png"),
    }
