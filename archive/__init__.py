"""The WARC layer of nianbao: capture, rotating writer, CDXJ index, lookup, pull, WACZ.

Public surface: `iter_captures`, `Capture`, `DamagedRecord` (reading any WARC), `load_capture`,
`list_captures` (finding captures of a URL). The Scrapy component is `archive.capture.WarcCaptureMiddleware`.
"""

from __future__ import annotations

from .lookup import CaptureEntry, CaptureNotFound, list_captures, load_capture
from .reader import Capture, DamagedRecord, iter_captures, read_capture_at

__all__ = ["Capture", "CaptureEntry", "CaptureNotFound", "DamagedRecord", "iter_captures", "list_captures",
           "load_capture", "read_capture_at"]
