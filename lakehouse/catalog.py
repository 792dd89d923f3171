"""pyiceberg access to the same Iceberg catalog the Spark jobs use."""

from __future__ import annotations

import sqlite3

from pyiceberg.catalog import Catalog, load_catalog

from lakehouse.settings import SQLITE_BUSY_TIMEOUT_MS, Settings


def iceberg_catalog(settings: Settings) -> Catalog:
    if settings.profile == "local" and settings.catalog_database is None:
        settings.catalog_db.parent.mkdir(parents=True, exist_ok=True)
        # WAL lets readers and the streaming writer share the SQLite file; the mode is kept
        # in the file, so setting it once per open is cheap and idempotent.
        with sqlite3.connect(settings.catalog_db, timeout=SQLITE_BUSY_TIMEOUT_MS / 1000) as db:
            db.execute("pragma journal_mode=wal")
    return load_catalog(settings.catalog_name, **settings.pyiceberg_properties())
