"""The real reports in ../shared (seeds and real samples) as portal items, with what we know about each.

Tables are given only where they were transcribed and checked against the identities (pingtan 2024);
for the others ``tables`` is None and ``origin`` says where the text came from.
"""

from __future__ import annotations

import html
import os
from pathlib import Path

from crawler.portal.site import Sample


def shared_dir() -> Path | None:
    """``$NIANBAO_SHARED`` or the ``shared/`` folder beside the repository; None when absent."""
    env = os.environ.get("NIANBAO_SHARED")
    path = Path(env) if env else Path(__file__).resolve().parents[3] / "shared"
    return path if path.is_dir() else None


# pingtan_2024_page.html, transcribed from its three tables (identities checked in tests)
_Z7 = [0] * 7
PINGTAN_2024_TABLES = {
    "active_disclosure": {
        "regulations": {"issued": 0, "abolished": 0, "in_force": 0},
        "normative_documents": {"issued": 62, "abolished": 33, "in_force": 440},
        "licensing": {"decisions": 4529},
        "punishment": {"decisions": 1100},
        "enforcement": {"decisions": 65},
        "fees": {"amount_10k_yuan": 18651.06},
    },
    "applications": {
        "new_received": [217, 1, 0, 0, 0, 0, 218],
        "carried_over": list(_Z7),
        "granted": [71, 0, 0, 0, 0, 0, 71],
        "partially_granted": [29, 0, 0, 0, 0, 0, 29],
        "denied_state_secret": [4, 0, 0, 0, 0, 0, 4],
        "denied_law_prohibited": list(_Z7),
        "denied_three_securities": list(_Z7),
        "denied_third_party": [3, 0, 0, 0, 0, 0, 3],
        "denied_internal_affairs": [32, 0, 0, 0, 0, 0, 32],
        "denied_process_info": list(_Z7),
        "denied_enforcement_file": list(_Z7),
        "denied_query": list(_Z7),
        "unable_not_held": [75, 0, 0, 0, 0, 0, 75],
        "unable_needs_creation": list(_Z7),
        "unable_unclear": list(_Z7),
        "not_processed_petition": list(_Z7),
        "not_processed_duplicate": [1, 0, 0, 0, 0, 0, 1],
        "not_processed_publication": list(_Z7),
        "not_processed_massive": list(_Z7),
        "not_processed_confirm": list(_Z7),
        "other_overdue_correction": [1, 0, 0, 0, 0, 0, 1],
        "other_unpaid_fee": list(_Z7),
        "other_other": [1, 1, 0, 0, 0, 0, 2],
        "total_processed": [217, 1, 0, 0, 0, 0, 218],
        "carried_forward": list(_Z7),
    },
    "review_litigation": {
        "review": [2, 1, 3, 1, 7],
        "litigation_direct": [0, 0, 0, 0, 0],
        "litigation_after_review": [13, 2, 4, 0, 19],
    },
}

# file name -> (agency, year, format, title, published, issues a parser reports)
_SEEDS: dict[str, tuple[str, int, str, str, str, tuple[str, ...]]] = {
    "000_33c315b6bf25115a.txt": ("鹤山市统计局", 2024, "2021", "鹤山市统计局2024年度政府信息公开工作年度报告",
                                 "2025-01-20", ("table_missing",)),
    "001_5ab8d9837b723415.txt": ("抚顺市统计局", 2016, "legacy", "抚顺市统计局2016年政府信息公开工作年度报告",
                                 "2017-03-28", ()),
    "002_73fd7277be857a29.txt": ("句容市统计局", 2020, "2019", "句容市统计局2020年度政府信息公开工作年度报告",
                                 "2021-01-29", ("table_missing",)),
    "003_2dd042ee9b6b28f7.txt": ("汉阳区统计局", 2023, "2021", "汉阳区统计局2023年政府信息公开工作年度报告",
                                 "2024-01-15", ("inferred_cell",)),
    "004_e9a588e9d18c65fd.txt": ("樟树市机关事务管理中心", 2024, "2021",
                                 "樟树市机关事务管理中心2024年政府信息公开工作年度报告", "2025-01-24", ()),
}


def _text_body(text: str) -> str:
    """Text lines as TRS_Editor paragraphs (a text dump's header block above ==== 正文 ==== dropped)."""
    marker = "==================== 正文 ===================="
    if marker in text:
        text = text.split(marker, 1)[1]
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return "\n".join(f'<p style="text-indent: 2em;">{html.escape(line, quote=False)}</p>' for line in lines)


def load_samples() -> list[Sample]:
    """Every seed and real sample found, in a fixed order; [] when ../shared is absent."""
    root = shared_dir()
    if root is None:
        return []
    out: list[Sample] = []
    real = root / "real-samples"
    page = real / "pingtan_2024_page.html"
    if page.is_file():
        out.append(Sample("sample:pingtan_2024_page.html", "平潭综合实验区", 2024, "2021",
                          "平潭综合实验区2024年度政府信息公开工作年度报告", "2025-03-10", None,
                          page=page.read_bytes(), tables=PINGTAN_2024_TABLES))
    for name, agency, year, fmt, published in (
        ("pingtan_2020_page.txt", "平潭综合实验区", 2020, "2019", "2021-03-05"),
        ("pingtan_2018_legacy_page.txt", "平潭综合实验区", 2018, "legacy", "2019-01-10"),
    ):
        path = real / name
        if path.is_file():
            title = f"{agency}{year}年度政府信息公开工作年度报告"
            out.append(Sample(f"sample:{name}", agency, year, fmt, title, published,
                              _text_body(path.read_text(encoding="utf-8"))))
    seeds = root / "seeds"
    for name, (agency, year, fmt, title, published, issues) in _SEEDS.items():
        path = seeds / name
        if path.is_file():
            out.append(Sample(f"seed:{name[:3]}", agency, year, fmt, title, published,
                              _text_body(path.read_text(encoding="utf-8", errors="replace")),
                              issues_expected=issues))
    return out
