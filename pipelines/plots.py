"""``scrapy export --plots``: the charts a researcher looks at first, each as PNG and SVG, canonical reports only.

``coverage``: which agency has a canonical report for which year, agencies grouped by administrative level; a
discrete colour says whether copies of it were set aside (the number is written in), a year without a report is
left blank. ``applications``: one panel per administrative level (the State Council's figures are never summed with
a county bureau's): applications received (the ``new_received`` totals, a line) and how they were handled (the
outcome rows of Table 3, stacked bars), summed over that level's canonical reports; a year without data is a gap,
not a zero. Each ``*_data`` function returns exactly the numbers its chart draws.

Agency names are drawn in Chinese when a CJK font is installed, else in pinyin (so no glyph turns into a box).
"""

from __future__ import annotations

import sqlite3
from contextlib import AbstractContextManager
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib import font_manager, rc_context
from matplotlib.colors import BoundaryNorm, ListedColormap
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from pypinyin import lazy_pinyin

from pipelines.catalog.agencies import LEVELS

OUTCOME_GROUPS = ("granted", "partially_granted", "denied", "unable", "not_processed", "other")
_PREFIXES = (("denied_", "denied"), ("unable_", "unable"), ("not_processed_", "not_processed"),
             ("other", "other"))  # other_overdue_correction, other_unpaid_fee, other_other; 2019's ``other``
CJK_FONTS = ("Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "WenQuanYi Micro Hei", "WenQuanYi Zen Hei",
             "Droid Sans Fallback", "AR PL UMing CN", "SimHei", "Microsoft YaHei", "PingFang SC")
LEVEL_TITLES = {"state_council": "State Council bodies", "province": "province level", "city": "city level",
                "county": "county level", "township": "township level", "unknown": "level unknown"}
# discrete colours: canonical report only / with 1 copy set aside / with 2 or more (colour-blind safe blues)
COVERAGE_COLOURS = ("#9ecae1", "#4292c6", "#08306b")
OUTCOME_COLOURS = ("#1b9e77", "#66a61e", "#d95f02", "#7570b3", "#e7298a", "#a6761d")

_CANONICAL = ("FROM reports r JOIN report_members m ON m.report_id = r.id AND m.canonical = 1"
              " JOIN report_groups g ON g.group_id = m.group_id LEFT JOIN agencies a ON a.agency_id = m.agency_id")


def _year_range(years: pd.Index | list[int]) -> list[int]:
    values = [int(y) for y in years]
    return list(range(min(values), max(values) + 1)) if values else []


def coverage_data(conn: sqlite3.Connection) -> pd.DataFrame:
    """Agencies (index: level, agency) × years (every year from the first to the last): the number of copies set
    aside for the agency's canonical report of that year (0: none), NaN where there is no report."""
    frame = pd.read_sql_query(
        f"SELECT coalesce(a.level, 'unknown') AS level, coalesce(a.name, r.agency, '?') AS agency, r.year,"
        f" g.copies {_CANONICAL} WHERE r.year IS NOT NULL", conn)
    if frame.empty:
        return pd.DataFrame()
    table = frame.pivot_table(index=["level", "agency"], columns="year", values="copies", aggfunc="sum")
    table = table.reindex(columns=_year_range(table.columns))
    order = sorted(table.index, key=lambda key: (LEVELS.index(key[0]) if key[0] in LEVELS else len(LEVELS), key[1]))
    return table.reindex(order)


def applications_data(conn: sqlite3.Connection) -> pd.DataFrame:
    """Per level and year (index), summed over the level's canonical reports: ``received`` (new_received, total
    column) and the outcome groups; every year from the first to the last, NaN where the level has no Table 3."""
    cells = pd.read_sql_query(
        "SELECT coalesce(a.level, 'unknown') AS level, r.year, c.row_key, c.value FROM table_cells c"
        " JOIN reports r ON r.id = c.report_id JOIN report_members m ON m.report_id = r.id AND m.canonical = 1"
        " LEFT JOIN agencies a ON a.agency_id = m.agency_id"
        " WHERE c.table_key = 'applications' AND c.column_key = 'total' AND r.year IS NOT NULL"
        " AND c.value IS NOT NULL", conn)
    columns = ["received", *OUTCOME_GROUPS]
    if cells.empty:
        return pd.DataFrame(columns=columns, index=pd.MultiIndex.from_tuples([], names=["level", "year"]))
    cells["group"] = cells["row_key"].map(_group_of)
    cells = cells.dropna(subset=["group"])
    cells["value"] = pd.to_numeric(cells["value"], errors="coerce")
    table = cells.pivot_table(index=["level", "year"], columns="group", values="value", aggfunc="sum")
    table = table.reindex(columns=columns)
    years = _year_range(sorted({y for _, y in table.index}))
    levels = sorted({lv for lv, _ in table.index}, key=lambda lv: LEVELS.index(lv) if lv in LEVELS else 99)
    full = pd.MultiIndex.from_product([levels, years], names=["level", "year"])
    return table.reindex(full)


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
    """Matplotlib settings while one chart is drawn (no pyplot, no global state left behind): the CJK font first
    when there is one; SVG text as text and a fixed hash salt, so the same chart gives the same SVG."""
    font = cjk_font()
    if font is None:
        return rc_context({"svg.hashsalt": "nianbao", "svg.fonttype": "none"})
    return rc_context({"svg.hashsalt": "nianbao", "svg.fonttype": "none", "font.sans-serif": [font, "DejaVu Sans"]})


def _save(fig: Figure, path: Path) -> Path:
    fig.savefig(path.with_suffix(".png"))
    fig.savefig(path.with_suffix(".svg"), metadata={"Date": None})
    return path.with_suffix(".png")


def plot_coverage(data: pd.DataFrame, path: Path) -> Path:
    """``path`` without suffix: writes ``.png`` and ``.svg``; returns the PNG."""
    with _fonts():
        return _plot_coverage(data, path)


def _plot_coverage(data: pd.DataFrame, path: Path) -> Path:
    rows, cols = max(len(data.index), 1), max(len(data.columns), 1)
    fig = Figure(figsize=(max(7.0, 0.8 * cols + 5), max(3.0, 0.4 * rows + 1.8)), dpi=100)
    ax = fig.subplots()
    if data.empty:
        ax.text(0.5, 0.5, "no reports", ha="center", va="center")
        ax.set_axis_off()
    else:
        values = data.to_numpy(dtype=float)
        shown = values.clip(max=2)  # 0, 1, 2+ copies: three discrete colours; NaN (no report) stays blank
        cmap = ListedColormap(COVERAGE_COLOURS)
        cmap.set_bad("white")
        ax.imshow(shown, cmap=cmap, norm=BoundaryNorm([-0.5, 0.5, 1.5, 2.5], cmap.N), aspect="auto",
                  interpolation="nearest")
        ax.set_xticks(range(len(data.columns)), [str(c) for c in data.columns])
        ax.set_yticks(range(len(data.index)),
                      [f"{agency_label(agency)}  ({level})" for level, agency in data.index])
        for i in range(values.shape[0]):
            for j in range(values.shape[1]):
                if values[i, j] == values[i, j] and values[i, j] > 0:  # not NaN: copies set aside
                    ax.text(j, i, f"+{int(values[i, j])}", ha="center", va="center", fontsize=8, color="white")
        previous = None
        for i, (level, _agency) in enumerate(data.index):
            if previous is not None and level != previous:
                ax.axhline(i - 0.5, color="black", linewidth=1.2)
            previous = level
        ax.legend(handles=[Patch(color=COVERAGE_COLOURS[0], label="canonical report"),
                           Patch(color=COVERAGE_COLOURS[1], label="+1 copy set aside"),
                           Patch(color=COVERAGE_COLOURS[2], label="+2 or more copies"),
                           Patch(facecolor="white", edgecolor="grey", label="no report")],
                  loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
        ax.set_xlabel("report year")
    ax.set_title("Coverage: one canonical report per agency and year, grouped by level")
    fig.tight_layout()
    return _save(fig, path)


def plot_applications(data: pd.DataFrame, path: Path) -> Path:
    """``path`` without suffix: writes ``.png`` and ``.svg``; returns the PNG."""
    with _fonts():
        return _plot_applications(data, path)


def _plot_applications(data: pd.DataFrame, path: Path) -> Path:
    levels = list(dict.fromkeys(lv for lv, _ in data.index)) if not data.empty else []
    fig = Figure(figsize=(8, 2.0 + 2.6 * max(len(levels), 1)), dpi=100)
    axes = fig.subplots(max(len(levels), 1), 1, squeeze=False)
    if not levels:
        ax = axes[0][0]
        ax.text(0.5, 0.5, "no Table 3 data", ha="center", va="center")
        ax.set_axis_off()
        ax.set_title("Applications received and how they were handled")
    for ax, level in zip((row[0] for row in axes), levels, strict=False):
        part = data.loc[level]
        years = [str(y) for y in part.index]
        bottom = [0.0] * len(years)
        for group, colour in zip(OUTCOME_GROUPS, OUTCOME_COLOURS, strict=True):
            values = [float(v) for v in part[group]]  # NaN: no data that year, no bar
            ax.bar(years, [0.0 if v != v else v for v in values], bottom=bottom, color=colour,
                   label=group.replace("_", " "))
            bottom = [b + (0.0 if v != v else v) for b, v in zip(bottom, values, strict=True)]
        ax.plot(years, [float(v) for v in part["received"]], color="black", marker="o", label="received (new)")
        missing = [y for y, v in zip(years, part["received"], strict=True) if v != v]
        for y in missing:
            ax.axvspan(years.index(y) - 0.4, years.index(y) + 0.4, color="#eeeeee", zorder=0)
        ax.set_title(f"{LEVEL_TITLES.get(level, level)}: applications received and how they were handled"
                     + (f" (no data: {', '.join(missing)})" if missing else ""), fontsize=10)
        ax.set_ylabel("applications")
    axes[-1][0].set_xlabel("report year")
    if levels:
        handles, names = axes[0][0].get_legend_handles_labels()
        fig.legend(handles, names, loc="lower center", ncol=len(names), fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.04 if levels else 0, 1, 1))
    return _save(fig, path)


def write_plots(conn: sqlite3.Connection, out_dir: Path) -> dict[str, Path]:
    """coverage and applications, each as ``<name>.png`` and ``<name>.svg`` in ``out_dir``; returns the PNGs."""
    return {
        "coverage": plot_coverage(coverage_data(conn), out_dir / "coverage"),
        "applications": plot_applications(applications_data(conn), out_dir / "applications"),
    }
