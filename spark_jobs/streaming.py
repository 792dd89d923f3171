"""What the bronze and silver jobs share: the Kafka source, the trigger, and running a query."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path

import typer
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.streaming import DataStreamWriter, StreamingQuery, StreamingQueryListener

from lakehouse import contract
from lakehouse.kafka_clients import java_client_options
from lakehouse.logs import get_logger
from lakehouse.settings import Settings, load_settings
from lakehouse.spark import spark_session

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


def run_all(spark: SparkSession, queries: list[tuple[StreamingQuery, MetricsRecorder | None]],
            trigger: Trigger, timeout_seconds: float | None) -> None:
    """Wait for the queries of one session: until each has drained its backlog (available-now),
    or until they are stopped or `timeout_seconds` pass (processing-time). The first to fail
    stops the others and raises."""
    deadline = (None if trigger is Trigger.available_now or timeout_seconds is None
                else time.monotonic() + timeout_seconds)
    failed: Exception | None = None
    try:
        while any(query.isActive for query, _ in queries):
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                break
            # Returns when any query of the session ends (raising if it failed), or at the deadline.
            if remaining is None:
                spark.streams.awaitAnyTermination()
            else:
                spark.streams.awaitAnyTermination(max(int(remaining), 1))
            spark.streams.resetTerminated()
    except Exception as exc:  # noqa: BLE001 - the failed query's error is reported below
        failed = exc
    for query, recorder in queries:
        if query.isActive:
            query.stop()
        if recorder is not None:
            recorder.flush(query)
    errors = [f"streaming query {query.name} failed: {error}"
              for query, _ in queries if (error := query.exception()) is not None]
    if errors or failed is not None:
        raise RuntimeError("; ".join(errors) or str(failed))
    for query, _ in queries:
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


QueryStart = Callable[[SparkSession, Settings, Trigger, str], "tuple[StreamingQuery, MetricsRecorder]"]


def start_streams(job: str, start_query: QueryStart, settings: Settings, trigger: Trigger,
                  interval: str, timeout: float | None, streams: list[str] | None = None,
                  prepare: Callable[[SparkSession], None] | None = None) -> None:
    """Run one job's query for each of `streams` (default: the settings' stream) in one Spark
    session, each with its own checkpoint, and wait for them all (docs/benchmarks.md: one
    session for many topics costs less on two cores than a session per topic). `prepare`
    runs once on the session before the queries start."""
    spark = spark_session(settings, job)
    if prepare is not None:
        prepare(spark)
    queries = [start_query(spark, settings.for_stream(stream), trigger, interval)
               for stream in streams or [settings.stream]]
    run_all(spark, queries, trigger, timeout)


def chosen_streams(names: list[str] | None) -> list[str] | None:
    """`--stream` values: contract names, or `all` for every contract."""
    if not names:
        return None
    if "all" in names:
        return list(contract.stream_names())
    return [contract.contract(name).name for name in names]


def job_cli(job: str, start_query: QueryStart, description: str,
            prepare: Callable[[SparkSession], None] | None = None) -> typer.Typer:
    """The command line every streaming job has: streams, trigger, interval, timeout; settings
    from the environment."""
    app = typer.Typer(add_completion=False)

    @app.command(help=description)
    def main(
        stream: list[str] = typer.Option(
            None, help="Stream (a contract in contracts/), repeatable, or `all`; default: "
            "LAKEHOUSE_STREAM (purchases). One session runs a query per stream."),
        trigger: Trigger = typer.Option(Trigger.available_now, help="Drain the backlog, or run."),
        interval: str = typer.Option("10 seconds", help="Micro-batch interval (processing-time)."),
        timeout: float = typer.Option(None, help="Stop a processing-time query after N seconds."),
    ) -> None:
        try:
            start_streams(job, start_query, load_settings(), trigger, interval, timeout,
                          chosen_streams(stream), prepare)
        except Exception as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from exc
        finally:
            stop_spark()

    return app
