"""Where the dashboard's queries run. Locally: pyiceberg scans of the tables a query names,
loaded into an embedded DuckDB (nothing to start); a scan is kept while its table's snapshot is
the current one, so a refresh reads only what changed. On the aws profile: Athena, through
pyathena, with the same query rendered for Trino by sqlglot (dashboard/queries.py).

A table that does not exist or cannot be read raises TableUnavailable naming it and why."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Protocol

import pandas as pd
import pyarrow as pa

from dashboard import queries
from lakehouse.settings import Settings

# Metadata tables are named as Athena names them: `silver."purchases$snapshots"`.
METADATA_SUFFIX = "$"


class TableUnavailable(LookupError):
    """A table a query reads is missing or unreadable."""

    def __init__(self, table: str, why: str) -> None:
        super().__init__(f"{table}: {why}")
        self.table = table
        self.why = why

    @property
    def missing(self) -> bool:
        return self.why.startswith("not found")


class Source(Protocol):
    name: str

    def run(self, query: str) -> pd.DataFrame: ...


class LocalSource:
    """pyiceberg + DuckDB over the profile's Iceberg catalog."""

    name = "local (pyiceberg + DuckDB)"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._catalog = None
        self._scans: dict[str, tuple[object, pa.Table]] = {}  # table -> (snapshot id, rows)
        self._lock = threading.Lock()  # Streamlit runs each session's script in its own thread

    @property
    def catalog(self):  # noqa: ANN201 - pyiceberg's Catalog, imported lazily
        if self._catalog is None:
            from lakehouse.catalog import iceberg_catalog

            self._catalog = iceberg_catalog(self.settings)
        return self._catalog

    def arrow(self, table: str) -> pa.Table:
        """The table's rows (or a metadata table's), scanned again only when its snapshot moved."""
        from pyiceberg.exceptions import NoSuchNamespaceError, NoSuchTableError

        base, _, metadata = table.partition(METADATA_SUFFIX)
        try:
            iceberg = self.catalog.load_table(base)
        except (NoSuchTableError, NoSuchNamespaceError):
            raise TableUnavailable(table, "not found: nothing has written it yet") from None
        except Exception as exc:  # noqa: BLE001 - the catalog's own errors, shown to the user
            raise TableUnavailable(table, f"unreadable: {exc}") from exc
        snapshot = iceberg.metadata.current_snapshot_id
        with self._lock:
            kept = self._scans.get(table)
            if kept is not None and kept[0] == snapshot:
                return kept[1]
        try:
            rows = (getattr(iceberg.inspect, metadata)() if metadata
                    else iceberg.scan().to_arrow())
        except Exception as exc:  # noqa: BLE001
            raise TableUnavailable(table, f"unreadable: {exc}") from exc
        with self._lock:
            self._scans[table] = (snapshot, rows)
        return rows

    def run(self, query: str) -> pd.DataFrame:
        return run_in_duckdb(query, self.arrow)


def run_in_duckdb(query: str, rows_of: Callable[[str], pa.Table]) -> pd.DataFrame:
    """Run a dashboard query in an embedded DuckDB where each table it names is a view of the
    Arrow rows `rows_of(table)` gives."""
    import duckdb

    with duckdb.connect() as db:
        for i, table in enumerate(queries.tables_of(query)):
            namespace, name = table.split(".", 1)
            db.register(f"scan_{i}", rows_of(table))
            db.execute(f'create schema if not exists "{namespace}"')
            db.execute(f'create view "{namespace}"."{name}" as select * from scan_{i}')
        return db.execute(queries.render(query)).df()


class AthenaSource:
    """Amazon Athena (engine 3) through pyathena, in the settings' workgroup and region."""

    name = "Amazon Athena"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def connect(self):  # noqa: ANN201 - a pyathena Connection
        from pyathena import connect

        return connect(s3_staging_dir=self.settings.athena_results_s3,
                       region_name=self.settings.aws_region,
                       work_group=self.settings.athena_workgroup,
                       **({"endpoint_url": self.settings.aws_endpoint_url}
                          if self.settings.aws_endpoint_url else {}))

    def run(self, query: str) -> pd.DataFrame:
        from pyathena.error import DatabaseError

        text = queries.render(query, queries.ATHENA_DIALECT)
        try:
            with self.connect() as connection:
                cursor = connection.cursor()
                cursor.execute(text)
                columns = [column[0] for column in cursor.description or ()]
                return pd.DataFrame(cursor.fetchall(), columns=columns)
        except DatabaseError as exc:
            raise athena_unavailable(query, str(exc)) from exc


def athena_unavailable(query: str, message: str) -> TableUnavailable:
    """Athena's error for a query, as the table it names: a missing table (TABLE_NOT_FOUND,
    "... does not exist") is told apart from any other failure."""
    for table in queries.tables_of(query):
        name = table.split(".", 1)[1].lower()
        if name in message.lower() and ("TABLE_NOT_FOUND" in message or "does not exist" in message):
            return TableUnavailable(table, f"not found in Athena: {message}")
    return TableUnavailable(", ".join(queries.tables_of(query)), f"unreadable in Athena: {message}")


def source_for(settings: Settings) -> Source:
    return AthenaSource(settings) if settings.profile == "aws" else LocalSource(settings)
