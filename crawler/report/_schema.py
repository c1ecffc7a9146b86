"""Canonical keys of the report JSON (schema_version 1), in the order DESIGN.md gives them."""

from __future__ import annotations

SCHEMA_VERSION = 1

SECTION_KEYS = ("overview", "active_disclosure", "applications", "review_litigation", "problems", "other")

APPLICANT_COLUMNS = (
    "natural_person", "commercial", "research", "social_welfare", "legal_services", "other_org", "total",
)  # fmt: skip

_HEAD_ROWS = ("new_received", "carried_over", "granted", "partially_granted")
_DENIED_ROWS = (
    "denied_state_secret", "denied_law_prohibited", "denied_three_securities", "denied_third_party",
    "denied_internal_affairs", "denied_process_info", "denied_enforcement_file", "denied_query",
    "unable_not_held", "unable_needs_creation", "unable_unclear",
    "not_processed_petition", "not_processed_duplicate", "not_processed_publication",
    "not_processed_massive", "not_processed_confirm",
)  # fmt: skip
_TAIL_ROWS = ("total_processed", "carried_forward")

APPLICATION_ROWS = {
    "2021": _HEAD_ROWS + _DENIED_ROWS + ("other_overdue_correction", "other_unpaid_fee", "other_other") + _TAIL_ROWS,
    "2019": _HEAD_ROWS + _DENIED_ROWS + ("other",) + _TAIL_ROWS,
}


def outcome_rows(fmt: str) -> tuple[str, ...]:
    """The rows （一）…（六） whose sum is （七）总计."""
    return APPLICATION_ROWS[fmt][2:-2]


REVIEW_GROUPS = ("review", "litigation_direct", "litigation_after_review")
REVIEW_COLUMNS = ("maintained", "corrected", "other", "pending", "total")

# Table 2: row key -> field keys in column order, per format.
ACTIVE_ROWS = {
    "2021": {
        "regulations": ("issued", "abolished", "in_force"),
        "normative_documents": ("issued", "abolished", "in_force"),
        "licensing": ("decisions",),
        "punishment": ("decisions",),
        "enforcement": ("decisions",),
        "fees": ("amount_10k_yuan",),
    },
    "2019": {
        "regulations": ("new_made", "new_published", "total_published"),
        "normative_documents": ("new_made", "new_published", "total_published"),
        "licensing": ("prev_year_items", "change", "decisions"),
        "other_services": ("prev_year_items", "change", "decisions"),
        "punishment": ("prev_year_items", "change", "decisions"),
        "enforcement": ("prev_year_items", "change", "decisions"),
        "fees": ("prev_year_items", "change"),
        "procurement": ("items", "amount"),
    },
}

TABLE_KEYS = ("active_disclosure", "applications", "review_litigation")
