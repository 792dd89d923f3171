"""Silver: Kafka -> Iceberg `silver.purchases` (typed, checked against the contract,
deduplicated on event_id, PII hashed); every failing message -> `silver.purchases_quarantine`
with its reason and Kafka coordinates; one row per micro-batch -> `silver.purchases_batches`.

Exactly once: each micro-batch commits to each table with the query id and batch id in the
snapshot summary, and a replayed batch skips a table that already holds its commit. A purchase
is a duplicate when silver already holds its event_id from another Kafka message (within the
batch's event-time range, so the check prunes to the days it touches).

    spark-submit --jars "$(ls .jars/spark/*.jar | paste -sd,)" spark_jobs/silver.py --help
"""

from __future__ import annotations

import threading
import time
from dataclasses import asdict, dataclass

from pyspark.sql import Column, DataFrame, Row, SparkSession, Window
from pyspark.sql import functions as F

from lakehouse import contract
from lakehouse.contract import FieldSpec, Reason
from lakehouse.logs import get_logger
from lakehouse.settings import (
    QUARANTINE_TABLE,
    SILVER_BATCHES_TABLE,
    SILVER_NAMESPACE,
    SILVER_TABLE,
    Settings,
)
from lakehouse.spark import spark_session
from spark_jobs.streaming import Trigger, job_cli, read_kafka, record_metrics, run, with_trigger

log = get_logger("silver")

MONEY_TYPE = f"decimal({contract.MONEY_PRECISION},{contract.MONEY_SCALE})"
SPARK_TYPES = {"string": "string", "integer": "int", "number": MONEY_TYPE, "boolean": "boolean"}
KAFKA_COLUMNS = ["kafka_topic", "kafka_partition", "kafka_offset", "kafka_timestamp"]
QUARANTINE_RAW_CHARS = 4096  # how much of an oversized message the quarantine row keeps
COMMIT_QUERY_ID = "lakehouse.query-id"
COMMIT_BATCH_ID = "lakehouse.batch-id"


# ---------------------------------------------------------------- contract checks (pure)
def _field(name: str) -> Column:
    return F.expr(f"variant_get(payload, '$.{name}')")


def _variant_type(name: str) -> Column:
    return F.expr(f"schema_of_variant(variant_get(payload, '$.{name}'))")


def _typed(spec: FieldSpec) -> Column:
    if spec.is_timestamp:
        return F.expr(f"try_to_timestamp(variant_get(payload, '$.{spec.name}', 'string'))")
    return F.expr(f"variant_get(payload, '$.{spec.name}', '{SPARK_TYPES[spec.json_type]}')")


def _has_type(spec: FieldSpec) -> Column:
    kind = _variant_type(spec.name)
    if spec.json_type == "string":
        ok = kind == "STRING"
    elif spec.json_type == "integer":
        ok = kind == "BIGINT"
    elif spec.json_type == "number":
        ok = kind.isin("BIGINT", "DOUBLE") | kind.startswith("DECIMAL")
    else:
        ok = kind == "BOOLEAN"
    if spec.is_timestamp:  # ISO 8601 with an explicit offset, as the contract asks
        text = F.expr(f"variant_get(payload, '$.{spec.name}', 'string')")
        ok = ok & text.rlike(r"(Z|[+-]\d{2}:?\d{2})$") & _typed(spec).isNotNull()
    return ok


def _out_of_range(spec: FieldSpec) -> Column:
    value = _typed(spec)
    checks: list[Column] = []
    if spec.json_type == "string":
        if spec.min_length is not None:
            checks.append(F.char_length(value) < spec.min_length)
        if spec.max_length is not None:
            checks.append(F.char_length(value) > spec.max_length)
    if spec.json_type in ("integer", "number"):
        number = F.expr(f"variant_get(payload, '$.{spec.name}', 'double')")
        if spec.minimum is not None:
            checks.append(number < spec.minimum)
        if spec.exclusive_minimum is not None:
            checks.append(number <= spec.exclusive_minimum)
        if spec.maximum is not None:
            checks.append(number > spec.maximum)
    if spec.enum is not None:
        checks.append(~value.isin(*spec.enum))
    return F.lit(False) if not checks else _any(checks)


def _any(checks: list[Column]) -> Column:
    out = checks[0]
    for check in checks[1:]:
        out = out | check
    return out


def quarantine_reason(max_future_skew_seconds: float) -> Column:
    """The first contract failure of a message as a reason code, or null when it is valid.

    The same order and codes as lakehouse.contract.quarantine_reason, over columns
    `value` (bytes) and `payload` (the value parsed as a variant)."""
    rules: list[tuple[Column, Column]] = [
        (F.octet_length("value") > contract.MAX_MESSAGE_BYTES, F.lit(Reason.OVERSIZED)),
        (~F.expr("is_valid_utf8(value)"), F.lit(Reason.NOT_UTF8)),
        (
            F.col("payload").isNull() | ~F.expr("schema_of_variant(payload)").startswith("OBJECT"),
            F.lit(Reason.NOT_JSON),
        ),
    ]
    for spec in contract.fields():
        value = _field(spec.name)
        missing = value.isNull() | F.expr(f"is_variant_null(variant_get(payload, '$.{spec.name}'))")
        if spec.required:
            rules.append((missing, F.lit(f"{Reason.MISSING_FIELD}:{spec.name}")))
        present = ~missing
        rules.append((present & ~_has_type(spec), F.lit(f"{Reason.WRONG_TYPE}:{spec.name}")))
        if spec.name == "schema_version":
            rules.append(
                (present & ~_typed(spec).isin(*contract.schema_versions()),
                 F.lit(Reason.UNKNOWN_SCHEMA_VERSION))
            )
        rules.append((present & _out_of_range(spec), F.lit(f"{Reason.OUT_OF_RANGE}:{spec.name}")))
        if spec.is_timestamp:
            horizon = F.current_timestamp() + F.make_dt_interval(
                secs=F.lit(max_future_skew_seconds))
            rules.append((present & (_typed(spec) > horizon), F.lit(Reason.FUTURE_EVENT_TIME)))
    exact = "decimal(20,4)"
    expected = F.expr(
        f"variant_get(payload, '$.quantity', '{exact}') * variant_get(payload, '$.unit_price', '{exact}')"
    )
    actual = F.expr(f"variant_get(payload, '$.total_amount', '{exact}')")
    rules.append(
        (F.abs(actual - expected) > F.lit(contract.TOTAL_AMOUNT_TOLERANCE), F.lit(Reason.TOTAL_MISMATCH))
    )
    reason = F.when(*rules[0])
    for condition, code in rules[1:]:
        reason = reason.when(condition, code)
    return reason


def classify(
    kafka_records: DataFrame,
    max_future_skew_seconds: float = contract.DEFAULT_MAX_FUTURE_SKEW.total_seconds(),
) -> DataFrame:
    """Kafka records -> the same records with `payload` (variant) and `reason` (null = valid)."""
    small_utf8 = (F.octet_length("value") <= contract.MAX_MESSAGE_BYTES) & F.expr(
        "is_valid_utf8(value)"
    )
    return (
        kafka_records.select(
            F.col("topic").alias("kafka_topic"),
            F.col("partition").alias("kafka_partition"),
            F.col("offset").alias("kafka_offset"),
            F.col("key").cast("string").alias("kafka_key"),
            F.col("timestamp").alias("kafka_timestamp"),
            F.col("value"),
        )
        .withColumn(
            "payload",
            F.when(small_utf8, F.expr("try_parse_json(cast(value as string))")),
        )
        .withColumn("reason", quarantine_reason(max_future_skew_seconds))
    )


def to_silver_rows(classified: DataFrame, pii_salt: str) -> DataFrame:
    """Valid classified records -> typed silver rows; PII fields hashed (`<name>_sha256`)."""
    columns = []
    for spec in contract.fields():
        value = _typed(spec)
        if spec.pii:
            columns.append(F.sha2(F.concat(F.lit(pii_salt), value), 256).alias(f"{spec.name}_sha256"))
        else:
            columns.append(value.alias(spec.name))
    return classified.where(F.col("reason").isNull()).select(
        *columns, *KAFKA_COLUMNS, F.current_timestamp().alias("ingested_at")
    )


def to_quarantine_rows(classified: DataFrame) -> DataFrame:
    """Failing classified records -> quarantine rows: reason, coordinates, the raw message."""
    utf8 = F.expr("is_valid_utf8(value)")
    return classified.where(F.col("reason").isNotNull()).select(
        F.col("reason"),
        *KAFKA_COLUMNS,
        F.col("kafka_key"),
        F.expr("try_variant_get(payload, '$.event_id', 'string')").alias("event_id"),
        F.when(utf8, F.substring(F.col("value").cast("string"), 1, QUARANTINE_RAW_CHARS)).alias(
            "raw_value"
        ),
        F.when(~utf8, F.base64(F.substring("value", 1, QUARANTINE_RAW_CHARS))).alias(
            "raw_value_base64"
        ),
        F.octet_length("value").alias("raw_bytes"),
        F.current_timestamp().alias("quarantined_at"),
    )


def first_of_each_event(silver_rows: DataFrame) -> DataFrame:
    """Keep one row per event_id: the one with the lowest Kafka coordinates."""
    order = Window.partitionBy("event_id").orderBy("kafka_partition", "kafka_offset")
    return (
        silver_rows.withColumn("_n", F.row_number().over(order)).where("_n = 1").drop("_n")
    )


COORDINATES = ["kafka_topic", "kafka_partition", "kafka_offset"]


def without_messages_in(rows: DataFrame, existing: DataFrame) -> DataFrame:
    """Rows whose Kafka message (topic, partition, offset) `existing` does not hold yet."""
    return rows.join(existing.select(*COORDINATES), COORDINATES, "left_anti")


def without_events_in(candidates: DataFrame, existing: DataFrame) -> DataFrame:
    """Candidates whose event_id `existing` does not hold yet (the rest are duplicates)."""
    return candidates.join(existing.select("event_id"), "event_id", "left_anti")


# ---------------------------------------------------------------- tables (I/O)
def silver_column(spec: FieldSpec) -> str:
    """The silver column of one contract field, as DDL."""
    if spec.pii:
        return f"{spec.name}_sha256 string comment 'salted SHA-256 of {spec.name}'"
    kind = "timestamp" if spec.is_timestamp else SPARK_TYPES[spec.json_type]
    return f"{spec.name} {kind} comment '{_sql_text(spec.description)}'"


def silver_ddl(specs: tuple[FieldSpec, ...] | None = None) -> str:
    columns = [silver_column(spec) for spec in specs or contract.fields()]
    columns += ["kafka_topic string", "kafka_partition int", "kafka_offset bigint",
                "kafka_timestamp timestamp", "ingested_at timestamp"]
    return (
        f"create table if not exists {SILVER_TABLE} ({', '.join(columns)}) using iceberg "
        "partitioned by (days(event_time)) "
        "tblproperties ('format-version'='2', 'write.distribution-mode'='none')"
    )


QUARANTINE_DDL = f"""
create table if not exists {QUARANTINE_TABLE} (
  reason string, kafka_topic string, kafka_partition int, kafka_offset bigint,
  kafka_timestamp timestamp, kafka_key string, event_id string, raw_value string,
  raw_value_base64 string, raw_bytes int, quarantined_at timestamp
) using iceberg partitioned by (days(quarantined_at))
tblproperties ('format-version'='2', 'write.distribution-mode'='none')
"""

BATCHES_DDL = f"""
create table if not exists {SILVER_BATCHES_TABLE} (
  query_id string, batch_id bigint, input_rows bigint, silver_rows bigint,
  quarantined_rows bigint, duplicates_dropped bigint, already_present bigint, seconds double,
  committed_at timestamp
) using iceberg tblproperties ('format-version'='2')
"""


def _sql_text(text: str) -> str:
    return text.replace("'", "")


def create_tables(spark: SparkSession) -> None:
    spark.sql(f"create namespace if not exists {SILVER_NAMESPACE}")
    spark.sql(silver_ddl())
    evolve_silver(spark)
    # Day partitions, sorted by time then customer inside each file: the common queries filter
    # on a time range and on customers; compaction keeps this order.
    spark.sql(f"alter table {SILVER_TABLE} write locally ordered by event_time, customer_id")
    spark.sql(QUARANTINE_DDL)
    spark.sql(BATCHES_DDL)


def evolve_silver(spark: SparkSession) -> list[str]:
    """Add the columns of contract fields the silver table lacks (a new schema_version's
    optional fields). Additive only: Iceberg adds a column in a metadata commit, old rows read
    it as null, nothing is rewritten and the stream keeps its checkpoint."""
    present = {c.lower() for c in spark.table(SILVER_TABLE).columns}
    added = []
    for spec in contract.fields():
        column = f"{spec.name}_sha256" if spec.pii else spec.name
        if column.lower() not in present:
            spark.sql(f"alter table {SILVER_TABLE} add column {silver_column(spec)}")
            added.append(column)
    if added:
        log.info("silver_schema_evolved", added=added)
    return added


def already_committed(spark: SparkSession, table: str, query_id: str, batch_id: int) -> bool:
    found = spark.sql(
        f"select 1 from {table}.snapshots "
        f"where summary['{COMMIT_QUERY_ID}'] = '{query_id}' "
        f"and summary['{COMMIT_BATCH_ID}'] = '{batch_id}' limit 1"
    )
    return bool(found.take(1))


def append_once(df: DataFrame, table: str, query_id: str, batch_id: int) -> bool:
    """Append `df` to `table` unless this (query, batch) already committed there."""
    if already_committed(df.sparkSession, table, query_id, batch_id):
        log.info("batch_already_committed", table=table, batch_id=batch_id)
        return False
    (
        df.writeTo(table)
        .option(f"snapshot-property.{COMMIT_QUERY_ID}", query_id)
        .option(f"snapshot-property.{COMMIT_BATCH_ID}", str(batch_id))
        .append()
    )
    return True


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

    def as_frame(self, spark: SparkSession) -> DataFrame:
        counts = ("input_rows", "silver_rows", "quarantined_rows", "duplicates_dropped",
                  "already_present")
        return spark.createDataFrame([asdict(self)]).select(
            F.col("query_id"), F.col("batch_id").cast("bigint"),
            *(F.col(c).cast("bigint") for c in counts),
            F.col("seconds").cast("double"), F.current_timestamp().alias("committed_at"),
        )


def batch_stats(classified: DataFrame) -> Row:
    """A batch's figures in one pass: input_rows, min_offset, max_offset, valid_rows and the
    valid rows' min_event_time and max_event_time (one Spark job instead of five)."""
    valid = F.col("reason").isNull()
    event_time = _typed(next(spec for spec in contract.fields() if spec.name == "event_time"))
    return classified.agg(
        F.count(F.lit(1)).alias("input_rows"),
        F.min("kafka_offset").alias("min_offset"),
        F.max("kafka_offset").alias("max_offset"),
        F.count(F.when(valid, 1)).alias("valid_rows"),
        F.min(F.when(valid, event_time)).alias("min_event_time"),
        F.max(F.when(valid, event_time)).alias("max_event_time"),
    ).first()


class SilverBatchWriter:
    """The foreachBatch function: classify, deduplicate, and commit each table exactly once.

    The books are computed first and committed first; then quarantine, then silver. A batch
    Spark replays after a crash recomputes the same rows (the tables it has not committed to
    yet are unchanged) and skips every table that already holds its commit."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._query_id: str | None = None
        self._query_started = threading.Event()

    def query_started(self, query_id: str) -> None:
        self._query_id = query_id
        self._query_started.set()

    def __call__(self, batch: DataFrame, batch_id: int) -> None:
        self._query_started.wait()
        query_id = self._query_id or ""
        started = time.monotonic()
        classified = classify(batch, self.settings.max_future_skew_seconds).persist()
        try:
            books = self._write(classified, query_id, batch_id, started)
        finally:
            classified.unpersist()
        log.info("silver_batch", **asdict(books))

    def _write(self, classified: DataFrame, query_id: str, batch_id: int,
               started: float) -> BatchBooks:
        spark = classified.sparkSession
        stats = batch_stats(classified)
        input_rows, valid_rows = stats["input_rows"], stats["valid_rows"]
        in_offsets = (F.col("kafka_offset").between(stats["min_offset"], stats["max_offset"])
                      if input_rows else F.lit(False))

        failing = to_quarantine_rows(classified)
        quarantine = without_messages_in(failing, spark.table(QUARANTINE_TABLE).where(in_offsets))
        quarantine = quarantine.persist()

        valid = to_silver_rows(classified, self.settings.pii_salt)
        existing = spark.table(SILVER_TABLE).where(
            F.col("event_time").between(stats["min_event_time"], stats["max_event_time"])
            if stats["min_event_time"] else F.lit(False)
        )
        fresh = without_messages_in(first_of_each_event(valid), existing)
        new_rows = without_events_in(fresh, existing).persist()

        quarantined_rows = quarantine.count()
        silver_rows = new_rows.count()
        present = (input_rows - valid_rows - quarantined_rows) + (valid_rows - without_messages_in(
            valid, existing).count())
        books = BatchBooks(query_id, batch_id, input_rows, silver_rows, quarantined_rows,
                           input_rows - silver_rows - quarantined_rows - present, present,
                           round(time.monotonic() - started, 3))
        append_once(books.as_frame(spark), SILVER_BATCHES_TABLE, query_id, batch_id)
        if quarantined_rows:
            append_once(quarantine, QUARANTINE_TABLE, query_id, batch_id)
        if silver_rows:
            append_once(new_rows, SILVER_TABLE, query_id, batch_id)
        quarantine.unpersist()
        new_rows.unpersist()
        return books


def start(settings: Settings, trigger: Trigger, interval: str, timeout: float | None) -> None:
    spark = spark_session(settings, "silver")
    query_name = f"silver-{settings.topic}"
    recorder = record_metrics(spark, settings.metrics_path("silver"), query_name)
    create_tables(spark)
    batch_writer = SilverBatchWriter(settings)
    writer = (
        read_kafka(spark, settings)
        .writeStream.queryName(query_name)
        .foreachBatch(batch_writer)
        .option("checkpointLocation", settings.checkpoint_location("silver"))
    )
    query = with_trigger(writer, trigger, interval).start()
    batch_writer.query_started(query.id)
    run(query, trigger, timeout, recorder)


if __name__ == "__main__":
    job_cli(start, "Stream Kafka topic `purchases` into Iceberg silver.purchases and its quarantine.")()
