"""Freshness, measured from outside: when does a produced row become visible through a
catalog read of silver?

A poller loads `silver.purchases` through pyiceberg (the same catalog Spark commits to) a few
times a second and notes the wall-clock time it first sees each snapshot. Afterwards the data
files each snapshot added are read for their rows' `kafka_timestamp`, the time the producer
created the record; a row's freshness is (first time a catalog read saw its snapshot) -
(its Kafka timestamp). Producer, broker and poller share one clock.

The floor beside it: a plain Kafka consumer on the same topic at the same time notes when it
receives each record, (receive time) - (Kafka timestamp)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.parquet as pq
from kafka import KafkaConsumer, TopicPartition
from pyiceberg.catalog import Catalog
from pyiceberg.exceptions import NoSuchTableError
from pyiceberg.manifest import ManifestEntryStatus
from pyiceberg.table import Table

from lakehouse.settings import SILVER_TABLE, Settings

POLL_SECONDS = 0.1


@dataclass
class SnapshotWatch:
    """Snapshots of silver and when a catalog read first saw each one."""

    catalog: Catalog
    seen_at: dict[int, float] = field(default_factory=dict)

    def table(self) -> Table | None:
        try:
            return self.catalog.load_table(SILVER_TABLE)
        except NoSuchTableError:
            return None

    def poll(self) -> Table | None:
        table = self.table()
        now = time.time()
        if table is not None:
            for snapshot in table.metadata.snapshots:
                self.seen_at.setdefault(snapshot.snapshot_id, now)
        return table

    def rows_seen(self, table: Table, since: set[int]) -> int:
        """Rows in the snapshots seen since `since` (each silver commit is an append)."""
        return sum(int(s.summary.get("added-records", 0)) for s in table.metadata.snapshots
                   if s.summary is not None and s.snapshot_id not in since)

    def latencies(self, table: Table, since: set[int]) -> list[tuple[float, float]]:
        """(Kafka timestamp, seconds from it to first sight) of every row added after `since`."""
        out: list[tuple[float, float]] = []
        for snapshot in table.metadata.snapshots:
            if snapshot.snapshot_id in since:
                continue
            seen = self.seen_at[snapshot.snapshot_id]
            for manifest in snapshot.manifests(table.io):
                if manifest.added_snapshot_id != snapshot.snapshot_id:
                    continue
                for entry in manifest.fetch_manifest_entry(table.io, discard_deleted=True):
                    if entry.status != ManifestEntryStatus.ADDED:
                        continue
                    with table.io.new_input(entry.data_file.file_path).open() as f:
                        stamps = pq.read_table(f, columns=["kafka_timestamp"])["kafka_timestamp"]
                    micros = stamps.cast(pa.timestamp("us")).cast(pa.int64()).to_pylist()
                    out.extend((us / 1e6, seen - us / 1e6) for us in micros)
        return out


def first_answers(snapshot_rows: list[tuple[int, int]],
                  answers: list[tuple[float, int]]) -> dict[int, float]:
    """When a reader of a view first saw each snapshot's rows (pure): `snapshot_rows` is each
    snapshot's (id, rows added) in commit order; `answers` each (time, rows counted) the view
    gave, in time order. A snapshot is seen with the first answer counting every row up to and
    including it; one no answer reached is left out."""
    seen: dict[int, float] = {}
    through = 0
    answers = sorted(answers)
    i = 0
    for snapshot_id, added in snapshot_rows:
        through += added
        while i < len(answers) and answers[i][1] < through:
            i += 1
        if i == len(answers):
            break
        seen[snapshot_id] = answers[i][0]
    return seen


class KafkaFloor(threading.Thread):
    """A plain consumer from the topic's end: (receive time - Kafka timestamp) per record."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(name="kafka-floor", daemon=True)
        self.settings = settings
        self.latencies: list[tuple[float, float]] = []  # (Kafka timestamp, latency)
        self.ready = threading.Event()
        self._stopping = threading.Event()

    def run(self) -> None:
        consumer = KafkaConsumer(bootstrap_servers=self.settings.kafka_bootstrap,
                                 enable_auto_commit=False, fetch_max_wait_ms=10)
        try:
            partitions = [TopicPartition(self.settings.topic, p)
                          for p in sorted(consumer.partitions_for_topic(self.settings.topic) or [])]
            consumer.assign(partitions)
            consumer.seek_to_end(*partitions)
            for tp in partitions:
                consumer.position(tp)
            self.ready.set()
            while not self._stopping.is_set():
                for records in consumer.poll(timeout_ms=50).values():
                    now = time.time()
                    self.latencies.extend((r.timestamp / 1000, now - r.timestamp / 1000)
                                          for r in records)
        finally:
            self.ready.set()
            consumer.close()

    def stop(self) -> None:
        self._stopping.set()
        self.join(timeout=10)
