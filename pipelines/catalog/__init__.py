"""The catalog layer: ``<ARCHIVE_DIR>/catalog.sqlite``, its schema and its one write path, and the operations that
derive it from the archive.

Above the archive (WARCs are read through :mod:`archive.reader`), below the Scrapy components (item pipelines,
middlewares, commands), which call it; it imports neither. Modules: ``schema`` (tables, ``open_catalog``,
``transaction``), ``store`` (``store_entries``/``store_report``, ``place_captures``), ``capture_info`` (what the
catalog records about a capture), ``processing`` (``process_capture``: repair → parse → validate one capture),
``recognise`` (which captures of a WARC are reports), ``rebuild`` and ``catchup`` (the catalog again from the WARCs,
whole or from a killed run's files), ``runs`` (``crawl_runs``), ``labels`` (Chinese labels of the canonical keys),
``workers`` (worker processes that die with their parent). The parser is imported by ``processing`` only, so
opening or writing a catalog does not load it.
"""

from __future__ import annotations

from pipelines.catalog.schema import CATALOG_SCHEMA_VERSION, SCHEMA, ids_in, open_catalog, transaction
from pipelines.catalog.store import (
           StoreEntry,
           report_id,
           sorted_dump,
           store_entries,
           store_report,
           table_cells,
)

__all__ = ["CATALOG_SCHEMA_VERSION", "SCHEMA", "StoreEntry", "ids_in", "open_catalog", "report_id", "sorted_dump",
           "store_entries", "store_report", "table_cells", "transaction"]
