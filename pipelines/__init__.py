"""The dataset side of nianbao: the catalog layer and, above it, the Scrapy item pipelines and the tools that read it.

``catalog/`` is the catalog layer (schema, writes, rebuild and catch-up over the archive's readers; see its
``__init__``). On top of it: ``parse_pipeline``/``store_pipeline`` (the item pipelines), ``summary`` (the
end-of-crawl table), ``config`` (``CATALOG_*`` settings), ``signals``, ``offthread`` (awaiting a worker from the
reactor), ``export``/``plots`` (``scrapy export``), ``browse`` (``make browse``).
"""
