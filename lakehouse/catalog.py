"""The Iceberg catalog's properties, translated once from the settings for Spark (Java) and
pyiceberg, and pyiceberg access to that catalog."""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING

from lakehouse.settings import Settings

if TYPE_CHECKING:
    from pyiceberg.catalog import Catalog

SQLITE_BUSY_TIMEOUT_MS = 30_000


def aws_catalog_properties(settings: Settings) -> dict[str, str]:
    """Iceberg's Glue catalog with S3 files, the same for Spark (Java) and pyiceberg."""
    properties = {
        "type": "glue",
        # A table goes under its Glue database's location (Terraform points `silver` at the
        # silver bucket); the warehouse is only the fallback for a database without one.
        "warehouse": settings.silver_s3 or "",
        "client.region": settings.aws_region,
        "glue.region": settings.aws_region,
        "s3.region": settings.aws_region,
    }
    if settings.aws_endpoint_url:
        properties |= {
            "glue.endpoint": settings.aws_endpoint_url,
            "s3.endpoint": settings.aws_endpoint_url,
            "s3.path-style-access": "true",
        }
    return properties


def spark_catalog_conf(settings: Settings) -> dict[str, str]:
    """Iceberg catalog properties for Spark: JDBC catalog in one SQLite file or PostgreSQL
    (local), or the Glue Data Catalog with S3FileIO (aws)."""
    prefix = f"spark.sql.catalog.{settings.catalog_name}"
    if settings.profile == "aws":
        return {
            prefix: "org.apache.iceberg.spark.SparkCatalog",
            f"{prefix}.io-impl": "org.apache.iceberg.aws.s3.S3FileIO",
            f"{prefix}.cache-enabled": "false",
            **{f"{prefix}.{key}": value
               for key, value in aws_catalog_properties(settings).items()},
        }
    database = settings.catalog_database
    if database is None:
        connection = {
            f"{prefix}.uri": f"jdbc:sqlite:{settings.catalog_db}",
            f"{prefix}.jdbc.journal_mode": "WAL",
            f"{prefix}.jdbc.busy_timeout": str(SQLITE_BUSY_TIMEOUT_MS),
        }
    else:
        connection = {
            f"{prefix}.uri": (
                f"jdbc:postgresql://{database.host}:{database.port or 5432}/{database.database}"
            ),
            f"{prefix}.jdbc.user": database.username or "",
            f"{prefix}.jdbc.password": database.password or "",
        }
    return {
        prefix: "org.apache.iceberg.spark.SparkCatalog",
        f"{prefix}.type": "jdbc",
        **connection,
        # V1 keeps the iceberg_type column pyiceberg also reads and writes.
        f"{prefix}.jdbc.schema-version": "V1",
        f"{prefix}.warehouse": settings.warehouse.as_uri(),
        # Several writers share the catalog (streams, dbt, pyiceberg): always read the
        # latest metadata instead of a table cached when the session first loaded it.
        f"{prefix}.cache-enabled": "false",
    }


def pyiceberg_properties(settings: Settings) -> dict[str, str]:
    """The same catalog for pyiceberg: same database (SQLite file or PostgreSQL) or the same
    Glue Data Catalog, same name."""
    if settings.profile == "aws":
        return aws_catalog_properties(settings)
    database = settings.catalog_database
    return {
        "type": "sql",
        "uri": (
            f"sqlite:///{settings.catalog_db}?timeout={SQLITE_BUSY_TIMEOUT_MS // 1000}"
            if database is None
            else database.set(drivername="postgresql+psycopg2").render_as_string(
                hide_password=False)
        ),
        "warehouse": settings.warehouse.as_uri(),
    }


def iceberg_catalog(settings: Settings) -> Catalog:
    # Imported here: pyiceberg takes about a second to import, and every Spark job reads the
    # properties above without ever opening the catalog through it.
    from pyiceberg.catalog import load_catalog

    if settings.profile == "local" and settings.catalog_database is None:
        settings.catalog_db.parent.mkdir(parents=True, exist_ok=True)
        # WAL lets readers and the streaming writer share the SQLite file; the mode is kept
        # in the file, so setting it once per open is cheap and idempotent.
        with sqlite3.connect(settings.catalog_db, timeout=SQLITE_BUSY_TIMEOUT_MS / 1000) as db:
            db.execute("pragma journal_mode=wal")
    return load_catalog(settings.catalog_name, **pyiceberg_properties(settings))
