"""The whole pipeline on the local stack, stage by stage, with a summary at the end.

Every stream (a contract in contracts/) is produced, landed in bronze and checked into silver;
gold and the detector are built for purchases. Idempotent: the producer only tops each topic up
to the requested number of messages, the
streaming jobs resume from their checkpoints, dbt rebuilds gold and the ML job scores only
purchases it has not scored yet, so a second run adds nothing and reports the same books."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pyspark.sql import SparkSession

from lakehouse.contract import PURCHASES, contract, stream_names
from lakehouse.kafka_topics import message_count
from lakehouse.logs import get_logger
from lakehouse.settings import ANOMALIES_TABLE, GOLD_FACT_TABLE, Settings
from lakehouse.spark import spark_session
from ops import local_kafka
from ops.dbt_runner import run_dbt
from producer.events import GeneratorOptions

log = get_logger("demo")


@dataclass
class StreamBooks:
    """One stream's row counts across the layers, read back from the tables themselves."""

    stream: str
    topic: str
    events_produced: int
    bronze_records: int
    silver_rows: int
    quarantined_rows: int
    duplicates_dropped: int
    # messages a batch found already written (by a backfill); each message counts once in
    # the books above, so these are left out of the balance
    already_present: int

    def figures(self) -> dict[str, Any]:
        """The books as the summary JSON and `lakehouse books` print them."""
        return {**asdict(self), "books_balance": self.balanced}

    @property
    def balanced(self) -> bool:
        return self.events_produced == self.bronze_records == (
            self.silver_rows + self.quarantined_rows + self.duplicates_dropped
        )


@dataclass
class StageTimer:
    seconds: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        log.info("stage_started", stage=name)
        started = time.monotonic()
        yield
        self.seconds[name] = round(time.monotonic() - started, 2)
        log.info("stage_finished", stage=name, seconds=self.seconds[name])


def read_books(spark: SparkSession, settings: Settings) -> StreamBooks:
    """The books of the settings' stream."""
    from spark_jobs.bronze import read_bronze

    stream = contract(settings.stream)

    def count(sql: str) -> int:
        return int(spark.sql(sql).first()[0] or 0)

    return StreamBooks(
        stream=stream.name,
        topic=settings.topic,
        events_produced=message_count(settings),
        bronze_records=read_bronze(spark, settings).count(),
        silver_rows=count(f"select count(*) from {stream.silver_table}"),
        quarantined_rows=count(f"select count(*) from {stream.quarantine_table}"),
        duplicates_dropped=count(f"select sum(duplicates_dropped) from {stream.batches_table}"),
        already_present=count(f"select sum(already_present) from {stream.batches_table}"),
    )


def run_demo(
    settings: Settings, options: GeneratorOptions, show_progress: bool = True,
    streams: list[str] | None = None,
) -> tuple[dict[str, Any], Path]:
    """Run every stage for `streams` (default: every contract); return the summary and the
    path of its JSON copy. The producer tops each topic up to `options.count` messages of its
    seeded sequence; bronze and silver run a query per stream in one Spark session each."""
    from ml.anomalies import run as run_ml
    from producer.cli import produce
    from spark_jobs import bronze, silver
    from spark_jobs.streaming import Trigger

    streams = streams or list(stream_names())
    timer = StageTimer()
    stages: list[tuple[str, Callable[[], object]]] = [
        ("start_stack", lambda: local_kafka.ensure(settings)),
        ("produce", lambda: [produce(settings.for_stream(stream), options, resume=True,
                                     show_progress=show_progress) for stream in streams]),
        ("bronze", lambda: bronze.start(settings, Trigger.available_now, "", None, streams)),
        ("silver", lambda: silver.start(settings, Trigger.available_now, "", None, streams)),
    ]
    if PURCHASES in streams:  # gold and the detector are written for purchases
        stages += [("dbt_build", lambda: _dbt_build(settings)), ("ml", lambda: run_ml(settings))]
    for name, action in stages:
        with timer.stage(name):
            action()
    spark = spark_session(settings)
    books = [read_books(spark, settings.for_stream(stream)) for stream in streams]

    def count(sql: str) -> int:
        return int(spark.sql(sql).first()[0] or 0)

    summary: dict[str, Any] = {
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "streams": {b.stream: b.figures() for b in books},
        **({"gold_fct_purchases_rows": count(f"select count(*) from {GOLD_FACT_TABLE}"),
            "anomalies_flagged": count(f"select count(*) from {ANOMALIES_TABLE} where is_anomaly")}
           if PURCHASES in streams else {}),
        "books_balance": all(b.balanced for b in books),
        "stage_seconds": timer.seconds,
        "total_seconds": round(sum(timer.seconds.values()), 2),
    }
    settings.reports_dir.mkdir(parents=True, exist_ok=True)
    path = settings.reports_dir / "demo-summary.json"
    path.write_text(json.dumps(summary, indent=2) + "\n")
    return summary, path


def _dbt_build(settings: Settings) -> None:
    result = run_dbt(settings, ["build"])
    if not result.success:
        raise RuntimeError(f"dbt build failed: {result.exception or 'see the dbt log above'}")
