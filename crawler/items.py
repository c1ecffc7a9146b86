"""The item that carries one report from the spider to the pipelines."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class ReportItem:
    """One report capture: raw bytes plus routing context. Spiders fill it; they never parse content."""

    url: str
    body: bytes
    headers: dict[str, list[str]] = field(default_factory=dict)
    status: int = 200
    content_type: str | None = None
    source: str | None = None
    agency: str | None = None
    family: str | None = None
    list_title: str | None = None
    list_date: str | None = None
    discovery: list[str] = field(default_factory=list)
    attachment_of: str | None = None
    archive_record_id: str | None = None
    archive_captured_at: str | None = None
    archive_warc_file: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
