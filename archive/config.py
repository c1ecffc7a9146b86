"""ARCHIVE_* settings, parsed once."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol


class Settings(Protocol):
    """What the archive reads settings through: Scrapy's ``Settings`` (or anything with its getters), so the
    archive layer itself imports no Scrapy."""

    def get(self, name: str, default: Any = None) -> Any: ...

    def getint(self, name: str, default: int = 0) -> int: ...

    def getbool(self, name: str, default: bool = False) -> bool: ...

DEFAULT_MAX_SIZE = 1_000_000_000


@dataclass(frozen=True)
class ArchiveConfig:
    enabled: bool
    archive_dir: Path
    max_size: int
    gzip_level: int
    dedup: bool
    conditional: bool
    mend_on_start: bool
    operator: str
    browser_capture: bool
    revisit_full: bool

    @property
    def warc_dir(self) -> Path:
        return self.archive_dir / "warc"

    @property
    def index_dir(self) -> Path:
        return self.archive_dir / "index"

    @property
    def state_dir(self) -> Path:
        return self.archive_dir / "state"

    @classmethod
    def from_settings(cls, settings: Settings) -> ArchiveConfig:
        max_size = settings.getint("ARCHIVE_WARC_MAX_SIZE", DEFAULT_MAX_SIZE)
        if max_size <= 0:
            raise ValueError(f"ARCHIVE_WARC_MAX_SIZE must be a positive number of bytes, got {max_size}")
        level = settings.getint("ARCHIVE_GZIP_LEVEL", 6)
        if not 1 <= level <= 9:
            raise ValueError(f"ARCHIVE_GZIP_LEVEL must be between 1 and 9, got {level}")
        return cls(
            enabled=settings.getbool("ARCHIVE_ENABLED", True),
            archive_dir=Path(settings.get("ARCHIVE_DIR") or "data"),
            max_size=max_size,
            gzip_level=level,
            dedup=settings.getbool("ARCHIVE_DEDUP", True),
            conditional=settings.getbool("ARCHIVE_CONDITIONAL_REQUESTS", True),
            mend_on_start=settings.getbool("ARCHIVE_MEND_ON_START", True),
            operator=settings.get("ARCHIVE_OPERATOR", "") or "",
            browser_capture=settings.getbool("ARCHIVE_BROWSER_CAPTURE", True),
            revisit_full=settings.getbool("ARCHIVE_REVISIT_FULL", False),
        )
