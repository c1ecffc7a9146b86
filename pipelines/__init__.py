"""The dataset side of nianbao: item pipelines (parse → validate → store), the catalog, crawl summary, exports.

Modules: ``catalog`` (schema and the one write path, ``store_entries``/``store_report``), ``processing``
(``process_capture``: repair → parse → validate one capture, shared by crawl and rebuild), ``capture_info``
(what the catalog records about a capture), ``parse_pipeline``/``store_pipeline`` (the item pipelines),
``runs`` (WARC offsets filled at close, ``crawl_runs``), ``summary`` (end-of-crawl table), ``export``/``plots``
(``scrapy export``), ``browse`` (``make browse``), ``labels`` (Chinese labels of the canonical keys).
"""
