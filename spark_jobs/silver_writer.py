"""Silver's micro-batch writer (the foreachBatch function): classify, deduplicate, keep the
books, and commit each table exactly once."""

from __future__ import annotations

import functools
import operator
import threading
import time
from dataclasses import asdict

from pyspark.sql import DataFrame, Row, Window
from pyspark.sql import functions as F

from lakehouse import contract
from lakehouse.logs import get_logger
from lakehouse.settings import QUARANTINE_TABLE, SILVER_BATCHES_TABLE, SILVER_TABLE, Settings
from lakehouse.spark import materialized, quiet_release_warnings, release
from spark_jobs.contract_checks import ContractCheck, to_quarantine_rows, to_silver_rows, typed_column
from spark_jobs.silver_tables import BatchBooks, append_once

log = get_logger("silver")

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


def batch_stats(classified: DataFrame) -> Row:
    """A batch's figures in one pass: input_rows, min_offset, max_offset, valid_rows and the
    valid rows' min_event_time and max_event_time (one Spark job instead of five)."""
    valid = F.col("reason").isNull()
    event_time = F.col(typed_column(next(spec for spec in contract.fields() if spec.name == "event_time")))
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
