"""``CATALOG_*`` settings, parsed once."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from scrapy.settings import BaseSettings

from pipelines.catalog.timelimit import DEFAULT_PARSE_TIME_LIMIT, parse_time_limit


@dataclass(frozen=True)
class CatalogConfig:
    enabled: bool
    path: Path
    warc_dir: Path
    batch_size: int
    summary: bool
    store_process: bool = True  # CATALOG_STORE_PROCESS: the catalog writer in its own process, not a thread
    parse_seconds: float | None = DEFAULT_PARSE_TIME_LIMIT  # CATALOG_PARSE_TIME_LIMIT (None: no limit)

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> CatalogConfig:
        archive_dir = Path(settings.get("ARCHIVE_DIR") or "data")
        raw_path = settings.get("CATALOG_PATH") or ""
        batch_size = settings.getint("CATALOG_BATCH_SIZE", 50)
        if batch_size < 1:
            raise ValueError(f"CATALOG_BATCH_SIZE={batch_size}: must be at least 1")
        return cls(
            enabled=settings.getbool("CATALOG_ENABLED", True),
            path=Path(raw_path) if raw_path else archive_dir / "catalog.sqlite",
            warc_dir=archive_dir / "warc",
            batch_size=batch_size,
            summary=settings.getbool("CATALOG_SUMMARY_ENABLED", True),
            store_process=settings.getbool("CATALOG_STORE_PROCESS", True),
            parse_seconds=parse_time_limit(settings.get("CATALOG_PARSE_TIME_LIMIT")),
        )
