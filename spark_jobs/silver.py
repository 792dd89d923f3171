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

import functools
import operator
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
# Each field is read out of the variant once and typed once, in two projections, and the
# rules then compare plain columns. Reading a field inside every rule that needs it (about
# seventy) cost twice as much per row. Helper columns start with "_" and never reach a table.
def _value(spec: FieldSpec) -> str:
    return f"_value_{spec.name}"


def _kind(spec: FieldSpec) -> str:
    return f"_kind_{spec.name}"


def _typed(spec: FieldSpec) -> str:
    return f"_typed_{spec.name}"


def _number(spec: FieldSpec) -> str:
    return f"_number_{spec.name}"


def _text(spec: FieldSpec) -> str:
    return f"_text_{spec.name}"


TOTAL_GAP = "_total_gap"


def _field_values(specs: tuple[FieldSpec, ...]) -> list[Column]:
    """Projection 1: the payload's kind and each field as a variant."""
    return [F.expr("schema_of_variant(payload)").alias("_kind"),
            *(F.expr(f"variant_get(payload, '$.{s.name}')").alias(_value(s)) for s in specs)]


def _field_types(specs: tuple[FieldSpec, ...]) -> list[Column]:
    """Projection 2: each field's JSON kind and its typed value (null when it does not cast)."""
    columns: list[Column] = []
    for spec in specs:
        value = _value(spec)
        columns.append(F.expr(f"schema_of_variant({value})").alias(_kind(spec)))
        if spec.is_timestamp:
            text = f"try_variant_get({value}, '$', 'string')"
            columns.append(F.expr(text).alias(_text(spec)))
            typed = F.expr(f"try_to_timestamp({text})")
        else:
            typed = F.expr(f"try_variant_get({value}, '$', '{SPARK_TYPES[spec.json_type]}')")
        columns.append(typed.alias(_typed(spec)))
        if spec.json_type in ("integer", "number"):
            columns.append(F.expr(f"try_variant_get({value}, '$', 'double')").alias(_number(spec)))
    exact = "decimal(20,4)"
    quantity, unit_price, total = (
        F.expr(f"try_variant_get(_value_{name}, '$', '{exact}')")
        for name in ("quantity", "unit_price", "total_amount")
    )
    columns.append((total - quantity * unit_price).alias(TOTAL_GAP))
    return columns


def _has_type(spec: FieldSpec) -> Column:
    kind = F.col(_kind(spec))
    if spec.json_type == "string":
        ok = kind == "STRING"
    elif spec.json_type == "integer":
        ok = kind == "BIGINT"
    elif spec.json_type == "number":
        ok = kind.isin("BIGINT", "DOUBLE") | kind.startswith("DECIMAL")
    else:
        ok = kind == "BOOLEAN"
    if spec.is_timestamp:  # ISO 8601 with an explicit offset, as the contract asks
        ok = ok & F.col(_text(spec)).rlike(r"(Z|[+-]\d{2}:?\d{2})$") & F.col(_typed(spec)).isNotNull()
    return ok


def _out_of_range(spec: FieldSpec) -> Column | None:
    value = F.col(_typed(spec))
    checks: list[Column] = []
    if spec.json_type == "string":
        if spec.min_length is not None:
            checks.append(F.char_length(value) < spec.min_length)
        if spec.max_length is not None:
            checks.append(F.char_length(value) > spec.max_length)
    if spec.json_type in ("integer", "number"):
        number = F.col(_number(spec))
        if spec.minimum is not None:
            checks.append(number < spec.minimum)
        if spec.exclusive_minimum is not None:
            checks.append(number <= spec.exclusive_minimum)
        if spec.maximum is not None:
            checks.append(number > spec.maximum)
    if spec.enum is not None:
        checks.append(~value.isin(*spec.enum))
    return _any(checks) if checks else None


def _any(checks: list[Column]) -> Column:
    return functools.reduce(operator.or_, checks)


def quarantine_reason(max_future_skew_seconds: float) -> Column:
    """The first contract failure of a message as a reason code, or null when it is valid.

    The same order and codes as lakehouse.contract.quarantine_reason, over the columns
    `value` (bytes), `payload` (the value parsed as a variant) and the two projections above."""
    rules: list[tuple[Column, Column]] = [
        (F.octet_length("value") > contract.MAX_MESSAGE_BYTES, F.lit(Reason.OVERSIZED)),
        (~F.expr("is_valid_utf8(value)"), F.lit(Reason.NOT_UTF8)),
        (F.col("payload").isNull() | ~F.col("_kind").startswith("OBJECT"), F.lit(Reason.NOT_JSON)),
    ]
    for spec in contract.fields():
        value = F.col(_value(spec))
        missing = value.isNull() | F.expr(f"is_variant_null({_value(spec)})")
        if spec.required:
            rules.append((missing, F.lit(f"{Reason.MISSING_FIELD}:{spec.name}")))
        present = ~missing
        rules.append((present & ~_has_type(spec), F.lit(f"{Reason.WRONG_TYPE}:{spec.name}")))
        if spec.name == "schema_version":
            rules.append(
                (present & ~F.col(_typed(spec)).isin(*contract.schema_versions()),
                 F.lit(Reason.UNKNOWN_SCHEMA_VERSION))
            )
        out_of_range = _out_of_range(spec)
        if out_of_range is not None:
            rules.append((present & out_of_range, F.lit(f"{Reason.OUT_OF_RANGE}:{spec.name}")))
        if spec.is_timestamp:
            horizon = F.current_timestamp() + F.make_dt_interval(
                secs=F.lit(max_future_skew_seconds))
            rules.append((present & (F.col(_typed(spec)) > horizon), F.lit(Reason.FUTURE_EVENT_TIME)))
    rules.append(
        (F.abs(F.col(TOTAL_GAP)) > F.lit(contract.TOTAL_AMOUNT_TOLERANCE), F.lit(Reason.TOTAL_MISMATCH))
    )
    reason = F.when(*rules[0])
    for condition, code in rules[1:]:
        reason = reason.when(condition, code)
    return reason


class ContractCheck:
    """The contract as Spark columns, built once per job: building the few hundred column
    expressions takes about half a second, which every micro-batch would pay again."""

    def __init__(self, max_future_skew_seconds: float) -> None:
        specs = contract.fields()
        small_utf8 = (F.octet_length("value") <= contract.MAX_MESSAGE_BYTES) & F.expr(
            "is_valid_utf8(value)"
        )
        self.record = [
            F.col("topic").alias("kafka_topic"),
            F.col("partition").alias("kafka_partition"),
            F.col("offset").alias("kafka_offset"),
            F.col("key").cast("string").alias("kafka_key"),
            F.col("timestamp").alias("kafka_timestamp"),
            F.col("value"),
            F.when(small_utf8, F.expr("try_parse_json(cast(value as string))")).alias("payload"),
        ]
        self.values = _field_values(specs)
        self.types = _field_types(specs)
        self.reason = quarantine_reason(max_future_skew_seconds).alias("reason")
        self.scratch = ["_kind", TOTAL_GAP, *(name for spec in specs for name in (
            _value(spec), _kind(spec), _number(spec), _text(spec)))]

    def classify(self, kafka_records: DataFrame) -> DataFrame:
        """Kafka records -> the same records with `payload` (variant), each field typed
        (`_typed_<field>`, null when it does not cast) and `reason` (null = valid)."""
        checked = (
            kafka_records.select(*self.record)
            .select("*", *self.values)
            .select("*", *self.types)
            .select("*", self.reason)
        )
        # The batch is kept (`materialized`): keep only what the writes read (the variants are wide).
        return checked.drop(*self.scratch)


def classify(
    kafka_records: DataFrame,
    max_future_skew_seconds: float = contract.DEFAULT_MAX_FUTURE_SKEW.total_seconds(),
) -> DataFrame:
    """Kafka records -> the same records with `payload` (variant) and `reason` (null = valid)."""
    return ContractCheck(max_future_skew_seconds).classify(kafka_records)


def to_silver_rows(classified: DataFrame, pii_salt: str) -> DataFrame:
    """Valid classified records -> typed silver rows; PII fields hashed (`<name>_sha256`)."""
    columns = []
    for spec in contract.fields():
        value = F.col(_typed(spec))
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


COORDINATES = ["kafka_topic", "kafka_partition", "kafka_offset"]


def without_messages_in(rows: DataFrame, existing: DataFrame) -> DataFrame:
    """Rows whose Kafka message (topic, partition, offset) `existing` does not hold yet."""
    return rows.join(existing.select(*COORDINATES), COORDINATES, "left_anti")


def mark_new_events(silver_rows: DataFrame, existing: DataFrame) -> DataFrame:
    """Silver rows with two marks, from one join with `existing` (which holds each event_id
    at most once): `_present`, silver already holds this very Kafka message (a replayed
    backfill overlap); `_new`, the row goes in: its event is not in `existing` and it has the
    lowest Kafka coordinates of its event in the batch. The rest are duplicates."""
    held = existing.select(
        "event_id", *(F.col(c).alias(f"_held_{c}") for c in COORDINATES)
    )
    first = F.row_number().over(
        Window.partitionBy("event_id").orderBy("kafka_partition", "kafka_offset")) == 1
    same_message = functools.reduce(operator.and_, [F.col(f"_held_{c}") == F.col(c) for c in COORDINATES])
    return (
        silver_rows.join(held, "event_id", "left")
        .withColumn("_present", F.coalesce(same_message, F.lit(False)))
        .withColumn("_new", first & F.col("_held_kafka_offset").isNull())
        .drop(*(f"_held_{c}" for c in COORDINATES))
    )


def materialized(df: DataFrame) -> DataFrame:
    """`df`, computed once at its first action and kept (memory, then disk), behind a plan of
    one node. A persisted DataFrame keeps its whole plan, and every DataFrame built on the
    classified batch carried its few hundred contract expressions through analysis, the cache
    look-up and planning again; kept this way, a 50,000-row batch takes 28% less time and a
    small one 45% less (docs/benchmarks.md, change 15). Give it back with `release`."""
    return df.localCheckpoint(eager=False)


def release(df: DataFrame) -> None:
    """Drop the rows `materialized` kept now, instead of when the JVM's garbage collector finds
    them (every 30 minutes by default, while a stream keeps a batch every few seconds)."""
    df._jdf.queryExecution().logical().rdd().unpersist(False)


def quiet_release_warnings(spark: SparkSession) -> None:
    """Spark warns at every `release` that the rows cannot be recomputed afterwards, which is
    the point; keep that logger to errors."""
    jvm = spark.sparkContext._jvm
    jvm.org.apache.logging.log4j.core.config.Configurator.setLevel(
        "org.apache.spark.rdd.MapPartitionsRDD", jvm.org.apache.logging.log4j.Level.ERROR)


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
    # Named with its catalog: Iceberg's own commands (this one) otherwise first try `silver` as
    # a catalog and log the failure with a stack trace.
    spark.sql(f"alter table {spark.catalog.currentCatalog()}.{SILVER_TABLE} "
              "write locally ordered by event_time, customer_id")
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


def append_once(df: DataFrame, table: str, query_id: str, batch_id: int,
                may_be_replay: bool = True) -> bool:
    """Append `df` to `table` unless this (query, batch) already committed there. Only a
    run's first batch can be a replay (Spark re-runs the batch a crash interrupted), so the
    caller says whether to look."""
    if may_be_replay and already_committed(df.sparkSession, table, query_id, batch_id):
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
    event_time = F.col(_typed(next(spec for spec in contract.fields() if spec.name == "event_time")))
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
        self._check: ContractCheck | None = None
        self._last_batch_id: int | None = None

    def query_started(self, query_id: str) -> None:
        self._query_id = query_id
        self._last_batch_id = None
        self._query_started.set()

    def __call__(self, batch: DataFrame, batch_id: int) -> None:
        self._query_started.wait()
        query_id = self._query_id or ""
        started = time.monotonic()
        if self._check is None:
            self._check = ContractCheck(self.settings.max_future_skew_seconds)
            # The optimizer's constraint propagation walks every alias of the typed fields
            # through each projection and join; with a contract this wide it runs for minutes
            # and out of memory. The batch's plans gain nothing from the inferred filters.
            batch.sparkSession.conf.set("spark.sql.constraintPropagation.enabled", "false")
            quiet_release_warnings(batch.sparkSession)
        may_be_replay = self._last_batch_id is None or batch_id <= self._last_batch_id
        classified = materialized(self._check.classify(batch))
        try:
            books = self._write(classified, query_id, batch_id, started, may_be_replay)
        finally:
            release(classified)
        self._last_batch_id = batch_id
        # books.seconds ends where the books are written, before the three commits (the books'
        # own row is one of them); with_commits_seconds is the whole batch function.
        log.info("silver_batch", **asdict(books),
                 with_commits_seconds=round(time.monotonic() - started, 3))

    def _write(self, classified: DataFrame, query_id: str, batch_id: int,
               started: float, may_be_replay: bool) -> BatchBooks:
        spark = classified.sparkSession
        stats = batch_stats(classified)
        input_rows, valid_rows = stats["input_rows"], stats["valid_rows"]
        in_offsets = (F.col("kafka_offset").between(stats["min_offset"], stats["max_offset"])
                      if input_rows else F.lit(False))

        failing = to_quarantine_rows(classified)
        quarantine = None
        quarantined_rows = 0
        if input_rows > valid_rows:
            quarantine = materialized(without_messages_in(
                failing, spark.table(QUARANTINE_TABLE).where(in_offsets)))
            quarantined_rows = quarantine.count()

        marked = None
        present_valid = silver_rows = 0
        if valid_rows:
            existing = spark.table(SILVER_TABLE).where(
                F.col("event_time").between(stats["min_event_time"], stats["max_event_time"]))
            marked = materialized(mark_new_events(
                to_silver_rows(classified, self.settings.pii_salt), existing))
            counts = marked.agg(F.count(F.when(F.col("_present"), 1)).alias("present"),
                                F.count(F.when(F.col("_new"), 1)).alias("new")).first()
            present_valid, silver_rows = counts["present"], counts["new"]

        present = (input_rows - valid_rows - quarantined_rows) + present_valid
        books = BatchBooks(query_id, batch_id, input_rows, silver_rows, quarantined_rows,
                           input_rows - silver_rows - quarantined_rows - present, present,
                           round(time.monotonic() - started, 3))
        append_once(books.as_frame(spark), SILVER_BATCHES_TABLE, query_id, batch_id, may_be_replay)
        if quarantine is not None:
            if quarantined_rows:
                append_once(quarantine, QUARANTINE_TABLE, query_id, batch_id, may_be_replay)
            release(quarantine)
        if marked is not None:
            if silver_rows:
                new_rows = marked.where("_new").drop("_present", "_new")
                append_once(new_rows, SILVER_TABLE, query_id, batch_id, may_be_replay)
            release(marked)
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
