"""The accounting identities of DESIGN.md, checked on a canonical ``tables`` dict.

The portal uses this to prove its own ground truth (every generated report satisfies all identities
except the one it breaks on purpose); it is deliberately independent of the parser's validator.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from crawler.portal.labels import APPLICANT_COLUMNS, TABLE4_GROUPS, outcome_row_keys


@dataclass(frozen=True)
class Violation:
    table: str
    row: str
    column: str
    detail: str

    def to_dict(self) -> dict[str, str]:
        return {"code": "identity_violated", "table": self.table, "row": self.row, "column": self.column,
                "detail": self.detail}


def check_identities(tables: dict[str, Any], fmt: str) -> list[Violation]:
    """Every identity that does not hold, in a stable order (applications first, then review)."""
    out: list[Violation] = []
    apps: dict[str, list[int]] = tables["applications"]
    columns = [key for key, _ in APPLICANT_COLUMNS]
    outcomes = outcome_row_keys(fmt)
    for ci, col in enumerate(columns):
        new, carried = apps["new_received"][ci], apps["carried_over"][ci]
        processed, forward = apps["total_processed"][ci], apps["carried_forward"][ci]
        if new + carried != processed + forward:
            out.append(Violation("applications", "new_received", col,
                                 f"一+二={new + carried} but （七）+四={processed + forward}"))
        summed = sum(apps[row][ci] for row in outcomes)
        if summed != processed:
            out.append(Violation("applications", "total_processed", col,
                                 f"（七）总计={processed} but outcome rows sum to {summed}"))
    for row, values in apps.items():
        if sum(values[:6]) != values[6]:
            out.append(Violation("applications", row, "total",
                                 f"总计={values[6]} but the six applicant columns sum to {sum(values[:6])}"))
    review: dict[str, list[int]] = tables["review_litigation"]
    for group, _ in TABLE4_GROUPS:
        values = review[group]
        if sum(values[:4]) != values[4]:
            out.append(Violation("review_litigation", group, "total",
                                 f"总计={values[4]} but the four results sum to {sum(values[:4])}"))
    return out
