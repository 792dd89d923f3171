"""What the bronze and silver jobs share: the Kafka source, the trigger, and running a query."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path

import typer
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.streaming import DataStreamWriter, StreamingQuery, StreamingQueryListener

from lakehouse.kafka_clients import java_client_options
from lakehouse.logs import get_logger
from lakehouse.settings import Settings, load_settings

log = get_logger("streaming")


class Trigger(StrEnum):
    available_now = "available-now"
    processing_time = "processing-time"


def read_kafka(spark: SparkSession, settings: Settings) -> DataFrame:
    """The topic as a stream of raw Kafka records, from the earliest offset on first start."""
    authentication = {f"kafka.{key}": value for key, value in java_client_options(settings).items()}
    return (
        spark.readStream.format("kafka")
        .options(**authentication)
        .option("kafka.bootstrap.servers", settings.kafka_bootstrap)
        .option("subscribe", settings.topic)
        .option("startingOffsets", "earliest")
        .option("failOnDataLoss", str(settings.fail_on_data_loss).lower())
        .option("maxOffsetsPerTrigger", settings.max_offsets_per_trigger)
        .load()
    )


def batch_metrics(progress: dict) -> dict:
    """The figures worth monitoring from one StreamingQueryProgress (as a dict). Pure."""
    lag = [
        int(float(source.get("metrics", {}).get("maxOffsetsBehindLatest", 0) or 0))
        for source in progress.get("sources", [])
    ]
    return {
        "query": progress.get("name"),
        "batch_id": progress.get("batchId"),
        "timestamp": progress.get("timestamp"),
        "input_rows": progress.get("numInputRows", 0),
        "input_rows_per_second": round(progress.get("inputRowsPerSecond", 0.0) or 0.0, 1),
        "processed_rows_per_second": round(progress.get("processedRowsPerSecond", 0.0) or 0.0, 1),
        "batch_seconds": round(progress.get("batchDuration", 0) / 1000, 3),
        "kafka_lag": max(lag, default=0),
        # where the trigger's time went: addBatch (the sink: bronze's append, silver's batch
        # function), latestOffset, queryPlanning, walCommit, commitOffsets, ...
        "phase_seconds": {phase: round(ms / 1000, 3)
                          for phase, ms in sorted(progress.get("durationMs", {}).items())},
    }


class MetricsRecorder(StreamingQueryListener):
    """Logs every micro-batch's progress and appends it to a JSON-lines metrics file, so
    freshness and Kafka lag can be monitored (tail it, or load it into anything)."""

    def __init__(self, path: Path, query_name: str) -> None:
        self.path = path
        self.query_name = query_name
        self._recorded: set[tuple[str, int]] = set()
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)

    def record(self, progress: dict) -> None:
        """Record one progress report once, whichever of the listener and flush() sees it first."""
        metrics = batch_metrics(progress)
        key = (progress.get("runId", ""), progress.get("batchId", -1))
        if metrics["query"] != self.query_name:  # another query of the same session
            return
        with self._lock:
            if key in self._recorded:
                return
            self._recorded.add(key)
            log.info("batch_progress", **metrics)
            with self.path.open("a") as out:
                out.write(json.dumps(metrics) + "\n")

    def flush(self, query: StreamingQuery) -> None:
        """Record the progress the listener bus has not delivered yet: an available-now run
        ends, and its process exits, before the last events reach Python."""
        for progress in query.recentProgress:
            self.record(json.loads(progress.json))

    def onQueryStarted(self, event) -> None:  # noqa: N802, ANN001 - Spark's names
        pass

    def onQueryProgress(self, event) -> None:  # noqa: N802, ANN001
        self.record(json.loads(event.progress.json))

    def onQueryIdle(self, event) -> None:  # noqa: N802, ANN001
        pass

    def onQueryTerminated(self, event) -> None:  # noqa: N802, ANN001
        pass


def record_metrics(spark: SparkSession, path: Path, query_name: str) -> MetricsRecorder:
    recorder = MetricsRecorder(path, query_name)
    spark.streams.addListener(recorder)
    return recorder


def with_trigger(writer: DataStreamWriter, trigger: Trigger, interval: str) -> DataStreamWriter:
    if trigger is Trigger.available_now:
        return writer.trigger(availableNow=True)
    return writer.trigger(processingTime=interval)


def run(query: StreamingQuery, trigger: Trigger, timeout_seconds: float | None,
        recorder: MetricsRecorder | None = None) -> None:
    """Wait for the query: until the backlog is drained (available-now), or until it is stopped
    or `timeout_seconds` pass (processing-time). A failed query raises."""
    if trigger is Trigger.available_now or timeout_seconds is None:
        query.awaitTermination()
    elif not query.awaitTermination(timeout_seconds):
        query.stop()
    if recorder is not None:
        recorder.flush(query)
    error = query.exception()
    if error is not None:
        raise RuntimeError(f"streaming query {query.name} failed: {error}")
    log.info("query_finished", name=query.name, batches=_last_batch_id(query))


def _last_batch_id(query: StreamingQuery) -> int | None:
    progress = query.lastProgress
    return progress["batchId"] if progress else None


def stop_spark() -> None:
    """Stop the job's Spark session before Python exits: its listener bus then delivers the
    query's last events while Python can still take them. Left to the exit, a late event met a
    closed callback channel and Spark logged a Java stack trace at the end of every run."""
    session = SparkSession.getActiveSession()
    if session is not None:
        session.stop()


JobStart = Callable[[Settings, Trigger, str, "float | None"], None]


def job_cli(start: JobStart, description: str) -> typer.Typer:
    """The command line every streaming job has: trigger, interval, timeout; settings from env."""
    app = typer.Typer(add_completion=False)

    @app.command(help=description)
    def main(
        trigger: Trigger = typer.Option(Trigger.available_now, help="Drain the backlog, or run."),
        interval: str = typer.Option("10 seconds", help="Micro-batch interval (processing-time)."),
        timeout: float = typer.Option(None, help="Stop a processing-time query after N seconds."),
    ) -> None:
        try:
            start(load_settings(), trigger, interval, timeout)
        except Exception as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from exc
        finally:
            stop_spark()

    return app
