"""Silver's tables: their DDL and additive schema evolution, the books' row, and the idempotent
append that makes every micro-batch commit exactly once (the commit protocol)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from lakehouse import contract
from lakehouse.contract import Contract, FieldSpec
from lakehouse.logs import get_logger
from lakehouse.settings import SILVER_NAMESPACE
from spark_jobs.contract_checks import SPARK_TYPES

log = get_logger("silver")

# Each commit carries these in its snapshot summary; a replayed batch finds them and skips.
COMMIT_QUERY_ID = "lakehouse.query-id"
COMMIT_BATCH_ID = "lakehouse.batch-id"


def silver_column(spec: FieldSpec) -> str:
    """The silver column of one contract field, as DDL."""
    if spec.pii:
        return f"{spec.silver_name} string comment 'salted SHA-256 of {spec.name}'"
    kind = "timestamp" if spec.is_timestamp else SPARK_TYPES[spec.json_type]
    return f"{spec.name} {kind} comment '{_sql_text(spec.description)}'"


def silver_ddl(stream: Contract) -> str:
    columns = [silver_column(spec) for spec in stream.fields]
    columns += ["kafka_topic string", "kafka_partition int", "kafka_offset bigint",
                "kafka_timestamp timestamp", "ingested_at timestamp"]
    return (
        f"create table if not exists {stream.silver_table} ({', '.join(columns)}) using iceberg "
        f"partitioned by (days({stream.event_time})) "
        "tblproperties ('format-version'='2', 'write.distribution-mode'='none')"
    )


QUARANTINE_DDL = """
create table if not exists {table} (
  reason string, kafka_topic string, kafka_partition int, kafka_offset bigint,
  kafka_timestamp timestamp, kafka_key string, event_id string, raw_value string,
  raw_value_base64 string, raw_bytes int, quarantined_at timestamp
) using iceberg partitioned by (days(quarantined_at))
tblproperties ('format-version'='2', 'write.distribution-mode'='none')
"""


def batches_ddl(stream: Contract) -> str:
    """The books table: one row per micro-batch, its columns those of BatchBooks."""
    columns = ", ".join(f"{name} {kind}" for name, kind in BatchBooks.columns())
    return (f"create table if not exists {stream.batches_table} ({columns}) "
            "using iceberg tblproperties ('format-version'='2')")


def _sql_text(text: str) -> str:
    return text.replace("'", "")


def create_tables(spark: SparkSession, stream: Contract | None = None) -> None:
    """A stream's silver, quarantine and books tables (default: purchases'), made or evolved."""
    stream = stream or contract.contract()
    spark.sql(f"create namespace if not exists {SILVER_NAMESPACE}")
    spark.sql(silver_ddl(stream))
    evolve_silver(spark, stream)
    # Day partitions, sorted by time then the message key (purchases: the customer) inside each
    # file: the common queries filter on a time range and on it; compaction keeps this order.
    # Named with its catalog: Iceberg's own commands (this one) otherwise first try `silver` as
    # a catalog and log the failure with a stack trace.
    spark.sql(f"alter table {spark.catalog.currentCatalog()}.{stream.silver_table} "
              f"write locally ordered by {stream.event_time}, {stream.message_key}")
    spark.sql(QUARANTINE_DDL.format(table=stream.quarantine_table))
    spark.sql(batches_ddl(stream))


def evolve_silver(spark: SparkSession, stream: Contract) -> list[str]:
    """Add the columns of contract fields the silver table lacks (a new schema_version's
    optional fields). Additive only: Iceberg adds a column in a metadata commit, old rows read
    it as null, nothing is rewritten and the stream keeps its checkpoint."""
    present = {c.lower() for c in spark.table(stream.silver_table).columns}
    added = []
    for spec in stream.fields:
        column = spec.silver_name
        if column.lower() not in present:
            spark.sql(f"alter table {stream.silver_table} add column {silver_column(spec)}")
            added.append(column)
    if added:
        log.info("silver_schema_evolved", table=stream.silver_table, added=added)
    return added


def committed_summary(spark: SparkSession, table: str, query_id: str,
                      batch_id: int) -> dict[str, str] | None:
    """The snapshot summary of this (query, batch)'s commit to `table`, None if it has none."""
    found = spark.sql(
        f"select summary from {table}.snapshots "
        f"where summary['{COMMIT_QUERY_ID}'] = '{query_id}' "
        f"and summary['{COMMIT_BATCH_ID}'] = '{batch_id}' limit 1"
    ).take(1)
    return dict(found[0].summary) if found else None


def append_batch(df: DataFrame, table: str, query_id: str, batch_id: int,
                 properties: dict[str, str]) -> None:
    """Append `df` to `table` as this (query, batch)'s commit: its ids and `properties` in the
    snapshot summary, where `committed_summary` finds them on a replay."""
    writer = (
        df.writeTo(table)
        .option(f"snapshot-property.{COMMIT_QUERY_ID}", query_id)
        .option(f"snapshot-property.{COMMIT_BATCH_ID}", str(batch_id))
    )
    for key, value in properties.items():
        writer = writer.option(f"snapshot-property.{key}", value)
    writer.append()


# The books' Python field types as the table's column types.
BOOKS_SQL_TYPES = {"str": "string", "int": "bigint", "float": "double"}


@dataclass
class BatchBooks:
    """One micro-batch's books:
    input_rows = silver_rows + quarantined_rows + duplicates_dropped + already_present."""

    query_id: str
    batch_id: int
    input_rows: int
    silver_rows: int
    quarantined_rows: int
    duplicates_dropped: int
    already_present: int  # messages silver or quarantine already held (a backfill overlap)
    seconds: float

    @classmethod
    def columns(cls) -> list[tuple[str, str]]:
        """The books table's columns: each field, then when the row was committed."""
        return [(f.name, BOOKS_SQL_TYPES[str(f.type)]) for f in fields(cls)] + [
            ("committed_at", "timestamp")]

    def as_frame(self, spark: SparkSession) -> DataFrame:
        row = asdict(self)
        return spark.createDataFrame([row]).select(
            *(F.col(name).cast(kind) for name, kind in self.columns() if name in row),
            F.current_timestamp().alias("committed_at"),
        )
