"""Silver's micro-batch writer (the foreachBatch function): classify, deduplicate, keep the
books, and commit each table exactly once."""

from __future__ import annotations

import functools
import json
import operator
import threading
import time
from dataclasses import asdict
from datetime import datetime, timedelta

from pyspark.sql import Column, DataFrame, Row, Window
from pyspark.sql import functions as F

from lakehouse import contract
from lakehouse.contract import Contract
from lakehouse.logs import get_logger
from lakehouse.settings import Settings
from lakehouse.spark import materialized, quiet_release_warnings, release
from spark_jobs.contract_checks import (
    ContractCheck,
    batch_horizon,
    to_quarantine_rows,
    to_silver_rows,
    typed_column,
)
from spark_jobs.silver_tables import BatchBooks, append_batch, committed_summary

log = get_logger("silver")

COORDINATES = ["kafka_topic", "kafka_partition", "kafka_offset"]


def without_messages_in(rows: DataFrame, existing: DataFrame) -> DataFrame:
    """Rows whose Kafka message (topic, partition, offset) `existing` does not hold yet."""
    return rows.join(existing.select(*COORDINATES), COORDINATES, "left_anti")


def mark_new_events(silver_rows: DataFrame, existing: DataFrame, key: str = "event_id") -> DataFrame:
    """Silver rows with two marks, from one join with `existing` (which holds each `key` at
    most once): `_present`, silver already holds this very Kafka message (a replayed backfill
    overlap); `_new`, the row goes in: its event is not in `existing` and it has the lowest
    Kafka coordinates of its event in the batch. The rest are duplicates."""
    held = existing.select(
        key, *(F.col(c).alias(f"_held_{c}") for c in COORDINATES)
    )
    first = F.row_number().over(
        Window.partitionBy(key).orderBy("kafka_partition", "kafka_offset")) == 1
    same_message = functools.reduce(operator.and_, [F.col(f"_held_{c}") == F.col(c) for c in COORDINATES])
    return (
        silver_rows.join(held, key, "left")
        .withColumn("_present", F.coalesce(same_message, F.lit(False)))
        .withColumn("_new", first & F.col("_held_kafka_offset").isNull())
        .drop(*(f"_held_{c}" for c in COORDINATES))
    )


# The duplicate look-up reads silver's rows in the minutes of the batch's events: a re-sent
# event carries its first event_time, so its first copy is in the same minute. A minute, not an
# hour: a steady stream's batch spans seconds of event time, and an hour of it is millions of rows.
LOOKUP_UNIT = "minute"
LOOKUP_STEP = timedelta(minutes=1)


def lookup_ranges(starts: list[datetime], step: timedelta = LOOKUP_STEP,
                  max_ranges: int = 32) -> list[tuple[datetime, datetime]]:
    """The time units (each `step` long from its start) a batch's events fall in, as [start,
    end) ranges, consecutive units merged; past `max_ranges` the narrowest gaps are closed, so
    the filter stays short (pure)."""
    ranges: list[list[datetime]] = []
    for start in sorted(set(starts)):
        if ranges and ranges[-1][1] >= start:
            ranges[-1][1] = max(ranges[-1][1], start + step)
        else:
            ranges.append([start, start + step])
    while len(ranges) > max(max_ranges, 1):
        i = min(range(len(ranges) - 1), key=lambda j: ranges[j + 1][0] - ranges[j][1])
        ranges[i:i + 2] = [[ranges[i][0], ranges[i + 1][1]]]
    return [(start, end) for start, end in ranges]


def in_ranges(column: str, ranges: list[tuple[datetime, datetime]]) -> Column:
    """`column` within one of `ranges` ([start, end)); Iceberg prunes partitions and files on it."""
    if not ranges:
        return F.lit(False)
    return functools.reduce(operator.or_, [
        (F.col(column) >= F.lit(start)) & (F.col(column) < F.lit(end)) for start, end in ranges])


def batch_stats(classified: DataFrame, stream: Contract) -> Row:
    """A batch's figures in one pass: input_rows, min_offset, max_offset, valid_rows and the
    minutes of the valid rows' event times, `units` (one Spark job instead of five)."""
    valid = F.col("reason").isNull()
    event_time = F.col(typed_column(stream.field(stream.event_time)))
    return classified.agg(
        F.count(F.lit(1)).alias("input_rows"),
        F.min("kafka_offset").alias("min_offset"),
        F.max("kafka_offset").alias("max_offset"),
        F.count(F.when(valid, 1)).alias("valid_rows"),
        F.collect_set(F.when(valid, F.date_trunc(LOOKUP_UNIT, event_time))).alias("units"),
    ).first()


# Every commit of a batch carries its books and its future-time horizon in the snapshot summary:
# a replay takes them from the first commit it finds instead of recomputing them against tables
# that may already hold the batch's rows, or against a later clock.
COMMIT_BOOKS = "lakehouse.books"
COMMIT_HORIZON = "lakehouse.horizon"
class SilverBatchWriter:
    """The foreachBatch function: classify, deduplicate, and commit each table exactly once.

    Silver commits first (what readers wait for), then quarantine, then the books' row; each
    commit carries the batch's books and horizon. A batch Spark replays after a crash reads
    them back from a commit it made, recomputes the same rows against the same horizon, and
    writes only the tables that do not hold its commit yet."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.stream = contract.contract(settings.stream)
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
        spark = batch.sparkSession
        if self._check is None:
            self._check = ContractCheck(self.stream)
            # The optimizer's constraint propagation walks every alias of the typed fields
            # through each projection and join; with a contract this wide it runs for minutes
            # and out of memory. The batch's plans gain nothing from the inferred filters.
            spark.conf.set("spark.sql.constraintPropagation.enabled", "false")
            quiet_release_warnings(spark)
        may_be_replay = self._last_batch_id is None or batch_id <= self._last_batch_id
        done = ({table: summary for table in self.stream.tables
                 if (summary := committed_summary(spark, table, query_id, batch_id)) is not None}
                if may_be_replay else {})
        if done:
            log.info("batch_already_committed", tables=sorted(done), batch_id=batch_id)
        # A commit made before the books and the horizon rode in the summary has neither.
        pinned = next((summary for summary in done.values() if COMMIT_HORIZON in summary), None)
        horizon = (datetime.fromisoformat(pinned[COMMIT_HORIZON]) if pinned
                   else batch_horizon(self.settings.max_future_skew_seconds))
        checked = materialized(self._check.check(batch))
        try:
            classified = self._check.with_reason(checked, horizon)
            books = self._write(classified, query_id, batch_id, started, horizon, done, pinned)
        finally:
            release(checked)
        self._last_batch_id = batch_id
        # books.seconds ends where the books are known, before the commits; with_commits_seconds
        # is the whole batch function.
        log.info("silver_batch", stream=self.stream.name, **asdict(books),
                 with_commits_seconds=round(time.monotonic() - started, 3))

    def _write(self, classified: DataFrame, query_id: str, batch_id: int, started: float,
               horizon: datetime, done: dict[str, dict[str, str]],
               pinned: dict[str, str] | None) -> BatchBooks:
        spark = classified.sparkSession
        silver_table, quarantine_table, batches_table = self.stream.tables
        stats = batch_stats(classified, self.stream)
        input_rows, valid_rows = stats["input_rows"], stats["valid_rows"]
        in_offsets = (F.col("kafka_offset").between(stats["min_offset"], stats["max_offset"])
                      if input_rows else F.lit(False))

        quarantine = marked = None
        quarantined_rows = present_valid = silver_rows = 0
        if input_rows > valid_rows and quarantine_table not in done:
            quarantine = materialized(without_messages_in(
                to_quarantine_rows(classified, self.stream), spark.table(quarantine_table).where(in_offsets)))
            quarantined_rows = quarantine.count()
        if valid_rows and silver_table not in done:
            # Only the minutes the batch's events fall in (LOOKUP_UNIT): the batch's whole
            # event-time span can reach back to the backlog's start.
            existing = spark.table(silver_table).where(
                in_ranges(self.stream.event_time, lookup_ranges(stats["units"])))
            marked = materialized(mark_new_events(
                to_silver_rows(classified, self.settings.pii_salt, self.stream), existing, self.stream.key))
            counts = marked.agg(F.count(F.when(F.col("_present"), 1)).alias("present"),
                                F.count(F.when(F.col("_new"), 1)).alias("new")).first()
            present_valid, silver_rows = counts["present"], counts["new"]

        if pinned:
            books = BatchBooks(**json.loads(pinned[COMMIT_BOOKS]))
        else:
            present = (input_rows - valid_rows - quarantined_rows) + present_valid
            books = BatchBooks(query_id, batch_id, input_rows, silver_rows, quarantined_rows,
                               input_rows - silver_rows - quarantined_rows - present, present,
                               round(time.monotonic() - started, 3))
        properties = {COMMIT_BOOKS: json.dumps(asdict(books)), COMMIT_HORIZON: horizon.isoformat()}
        if marked is not None:
            if books.silver_rows:
                new_rows = marked.where("_new").drop("_present", "_new")
                append_batch(new_rows, silver_table, query_id, batch_id, properties)
            release(marked)
        if quarantine is not None:
            if books.quarantined_rows:
                append_batch(quarantine, quarantine_table, query_id, batch_id, properties)
            release(quarantine)
        if batches_table not in done:
            append_batch(books.as_frame(spark), batches_table, query_id, batch_id, properties)
        return books
