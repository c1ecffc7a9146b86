"""The parsed report and its issues; ``to_dict`` gives the canonical JSON of DESIGN.md."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from crawler.report._schema import SCHEMA_VERSION, TABLE_KEYS

Number = int | float


@dataclass(frozen=True)
class Issue:
    code: str
    table: str | None = None
    row: str | None = None
    column: str | None = None
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "table": self.table, "row": self.row, "column": self.column,
                "detail": self.detail}


@dataclass
class Subsection:
    number: str
    title: str
    text: str

    def to_dict(self) -> dict[str, Any]:
        return {"number": self.number, "title": self.title, "text": self.text}


@dataclass
class Section:
    key: str | None
    number: str | None
    title: str | None
    text: str
    subsections: list[Subsection] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "number": self.number, "title": self.title, "text": self.text,
                "subsections": [s.to_dict() for s in self.subsections]}


def empty_source(url: str | None = None, content_type: str | None = None) -> dict[str, Any]:
    return {"url": url, "captured_at": None, "warc_file": None, "warc_offset": None,
            "warc_record_id": None, "content_type": content_type, "attachment_of": None}


@dataclass
class Report:
    source: dict[str, Any]
    title: str | None = None
    agency: str | None = None
    year: int | None = None
    published: str | None = None
    format: str = "unknown"
    charset: str | None = None
    repairs: dict[str, Any] = field(
        default_factory=lambda: {"pinyin_removed": 0, "mojibake_spans": [], "traditional": False})
    sections: list[Section] = field(default_factory=list)
    tables: dict[str, dict[str, Any] | None] = field(default_factory=lambda: dict.fromkeys(TABLE_KEYS))
    issues: list[Issue] = field(default_factory=list)
    # table -> row key -> {"printed": the label as printed, "score": 1.0 keyword match, < 1 edit-distance match,
    # 0.0 placed by its position (a row printed without a label)}
    labels: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    # set for a report read by OCR: {"pages": n, "cells": {table: {row: per-column confidences}}}
    ocr: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "source": dict(self.source),
            "title": self.title,
            "agency": self.agency,
            "year": self.year,
            "published": self.published,
            "format": self.format,
            "text": {"charset": self.charset, "repairs": self.repairs,
                     "labels": {t: dict(rows) for t, rows in sorted(self.labels.items())},
                     "ocr": self.ocr},
            "sections": [s.to_dict() for s in self.sections],
            "tables": {key: self.tables.get(key) for key in TABLE_KEYS},
            "issues": [i.to_dict() for i in self.issues],
        }
