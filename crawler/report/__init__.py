"""The shared report parser: bytes of one annual report in, the canonical JSON of DESIGN.md out.

``parse_report(content, url=None, content_type=None, headers=None) -> Report`` is pure and deterministic
and never raises; ``Report.to_dict()`` is the canonical JSON (schema_version 1); ``PARSER_VERSION`` changes
whenever the same bytes may parse differently. See docs/schema.md.
"""

from __future__ import annotations

from crawler.report._model import Issue, Report, Section, Subsection
from crawler.report._parse import parse_report

PARSER_VERSION = "1.4.0"

__all__ = ["PARSER_VERSION", "Issue", "Report", "Section", "Subsection", "parse_report"]
