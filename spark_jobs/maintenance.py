"""Table care for the silver tables (--layer silver) or every gold table (--layer gold):
compact small files, rewrite manifests, expire old snapshots and remove orphan files; safe
beside a running stream.

- Compaction rewrites only cold partitions of each stream's silver table (event days older than
  --cold-after-days), which the stream no longer appends to in the normal case, with Iceberg's
  partial progress so a conflict loses one file group, not the whole rewrite; a commit that
  still conflicts with the stream is retried.
- Snapshot expiry keeps at least --retain-last snapshots: the silver job finds the commit of a
  replayed micro-batch in the most recent snapshots, so never set it below 20.
- Orphan files are removed only when older than --orphan-older-than-hours (default 3 days), so
  files a running micro-batch is writing right now are never touched.
- Gold is compacted whole. Its compaction moves a table's main branch, which a gold audit
  branched off must still point at when it is published (ops/gold.py), so gold's maintenance
  runs only where no gold audit runs: Airflow gives both the one-slot pool `lakehouse_gold`.

    spark-submit --jars "$(ls .jars/spark/*.jar | paste -sd,)" spark_jobs/maintenance.py --help
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

import typer
from pyspark.sql import SparkSession
from tenacity import retry, retry_if_exception, stop_after_attempt, wait_exponential

from lakehouse import contract
from lakehouse.logs import get_logger
from lakehouse.settings import GOLD_NAMESPACE, Settings, load_settings
from lakehouse.spark import spark_session

log = get_logger("maintenance")

MIN_RETAINED_SNAPSHOTS = 20
MIN_ORPHAN_AGE_HOURS = 24  # Iceberg refuses less: younger files may belong to a running commit
CONFLICTS = ("CommitFailedException", "ValidationException", "CommitStateUnknownException")


class Layer(StrEnum):
    silver = "silver"
    gold = "gold"


def layer_tables(spark: SparkSession, layer: Layer) -> list[str]:
    if layer is Layer.silver:  # every stream's tables that exist
        return [table for stream in contract.contracts().values() for table in stream.tables
                if spark.catalog.tableExists(table)]
    if not spark.catalog.databaseExists(GOLD_NAMESPACE):
        return []
    return sorted(f"{GOLD_NAMESPACE}.{row.tableName}"
                  for row in spark.sql(f"show tables in {GOLD_NAMESPACE}").collect()
                  if not row.isTemporary)


@dataclass
class TableStats:
    data_files: int
    manifests: int
    snapshots: int
    rows: int


@dataclass
class MaintenanceReport:
    table: str
    before: TableStats
    after: TableStats
    rewritten_files: int
    added_files: int
    expired_snapshots: int
    orphans_removed: int


def table_stats(spark: SparkSession, table: str) -> TableStats:
    def count(sql: str) -> int:
        return int(spark.sql(sql).first()[0] or 0)

    return TableStats(
        data_files=count(f"select count(*) from {table}.files"),
        manifests=count(f"select count(*) from {table}.manifests"),
        snapshots=count(f"select count(*) from {table}.snapshots"),
        rows=count(f"select count(*) from {table}"),
    )


def _is_conflict(exc: BaseException) -> bool:
    return any(name in str(exc) for name in CONFLICTS)


@retry(retry=retry_if_exception(_is_conflict), stop=stop_after_attempt(5),
       wait=wait_exponential(multiplier=1, max=20), reraise=True)
def _call(spark: SparkSession, catalog: str, procedure: str, **arguments: str) -> dict:
    args = ", ".join(f"{name} => {value}" for name, value in arguments.items())
    row = spark.sql(f"call {catalog}.system.{procedure}({args})").first()
    return row.asDict() if row else {}


def maintain_table(spark: SparkSession, settings: Settings, table: str, *, cold_before: datetime,
                   expire_before: datetime, retain_last: int,
                   orphans_before: datetime) -> MaintenanceReport:
    catalog = settings.catalog_name
    before = table_stats(spark, table)
    where = ""
    event_time = next((stream.event_time for stream in contract.contracts().values()
                       if stream.silver_table == table), None)
    if event_time:  # a stream's silver table: only its cold days
        where = f"{event_time} < TIMESTAMP '{cold_before:%Y-%m-%d %H:%M:%S}'"
    rewrite_args = {
        "table": f"'{table}'",
        "options": "map('partial-progress.enabled', 'true', 'min-input-files', '2')",
    }
    if where:
        rewrite_args["where"] = f'"{where}"'
    rewrite = _call(spark, catalog, "rewrite_data_files", **rewrite_args)
    _call(spark, catalog, "rewrite_manifests", table=f"'{table}'")
    expired = _call(spark, catalog, "expire_snapshots", table=f"'{table}'",
                    older_than=f"TIMESTAMP '{expire_before:%Y-%m-%d %H:%M:%S}'",
                    retain_last=str(retain_last))
    orphans = spark.sql(
        f"call {catalog}.system.remove_orphan_files(table => '{table}', "
        f"older_than => TIMESTAMP '{orphans_before:%Y-%m-%d %H:%M:%S}')"
    ).count()
    report = MaintenanceReport(
        table=table, before=before, after=table_stats(spark, table),
        rewritten_files=int(rewrite.get("rewritten_data_files_count", 0)),
        added_files=int(rewrite.get("added_data_files_count", 0)),
        expired_snapshots=int(expired.get("deleted_manifest_lists_count", 0)),
        orphans_removed=orphans,
    )
    log.info("table_maintained", **{k: v for k, v in asdict(report).items()})
    return report


def maintain(settings: Settings, spark: SparkSession | None = None, *, cold_after_days: float = 1,
             snapshot_retention_hours: float = 24, retain_last: int = 50,
             orphan_older_than_hours: float = 72, layer: Layer = Layer.silver) -> list[MaintenanceReport]:
    if retain_last < MIN_RETAINED_SNAPSHOTS:
        raise ValueError(f"retain_last must be at least {MIN_RETAINED_SNAPSHOTS}: the silver job "
                         "looks for a replayed batch's commit among the recent snapshots")
    if orphan_older_than_hours < MIN_ORPHAN_AGE_HOURS:
        raise ValueError(f"orphan_older_than_hours must be at least {MIN_ORPHAN_AGE_HOURS}: "
                         "younger files may belong to a commit in progress")
    spark = spark or spark_session(settings, "maintenance")
    now = datetime.now(UTC)
    return [
        maintain_table(
            spark, settings, table,
            cold_before=now - timedelta(days=cold_after_days),
            expire_before=now - timedelta(hours=snapshot_retention_hours),
            retain_last=retain_last,
            orphans_before=now - timedelta(hours=orphan_older_than_hours),
        )
        for table in layer_tables(spark, layer)
    ]


def main(
    layer: Layer = typer.Option(
        Layer.silver, help="silver: every stream's three tables; gold: every gold table."),
    cold_after_days: float = typer.Option(1, help="Compact silver event days older than this."),
    snapshot_retention_hours: float = typer.Option(24, help="Expire snapshots older than this."),
    retain_last: int = typer.Option(
        50, help=f"Always keep this many snapshots (>= {MIN_RETAINED_SNAPSHOTS})."),
    orphan_older_than_hours: float = typer.Option(72, help="Remove orphan files older than this."),
) -> None:
    """Compact, rewrite manifests, expire snapshots and remove orphans on a layer's tables."""
    try:
        reports = maintain(load_settings(), layer=layer, cold_after_days=cold_after_days,
                           snapshot_retention_hours=snapshot_retention_hours,
                           retain_last=retain_last, orphan_older_than_hours=orphan_older_than_hours)
    except Exception as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    for r in reports:
        typer.echo(f"{r.table}: data files {r.before.data_files} -> {r.after.data_files}, "
                   f"manifests {r.before.manifests} -> {r.after.manifests}, "
                   f"snapshots {r.before.snapshots} -> {r.after.snapshots}, "
                   f"rows {r.before.rows} -> {r.after.rows}, orphans removed {r.orphans_removed}")


if __name__ == "__main__":
    typer.run(main)
