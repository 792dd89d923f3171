"""Silver: a stream's Kafka topic -> Iceberg `silver.<stream>` (typed, checked against the
stream's contract, deduplicated on its key, PII hashed); every failing message ->
`silver.<stream>_quarantine` with its reason and Kafka coordinates; one row per micro-batch ->
`silver.<stream>_batches`. One job code for every contract in contracts/ (`--stream`).

Exactly once: each micro-batch commits to each table with the query id and batch id in the
snapshot summary, and a replayed batch skips a table that already holds its commit. An event
is a duplicate when silver already holds its key from another Kafka message (within the
minutes of the batch's event times, so the check prunes to the days and files it touches).

    spark-submit --jars "$(ls .jars/spark/*.jar | paste -sd,)" spark_jobs/silver.py --help
"""

from __future__ import annotations

from pyspark.sql import SparkSession
from pyspark.sql.streaming import StreamingQuery

from lakehouse.contract import contracts
from lakehouse.settings import Settings
from spark_jobs.silver_tables import create_tables
from spark_jobs.silver_writer import SilverBatchWriter
from spark_jobs.streaming import (
    MetricsRecorder,
    Trigger,
    job_cli,
    read_kafka,
    record_metrics,
    start_streams,
    with_trigger,
)


def start_query(spark: SparkSession, settings: Settings, trigger: Trigger,
                interval: str) -> tuple[StreamingQuery, MetricsRecorder]:
    query_name = f"silver-{settings.topic}"
    recorder = record_metrics(spark, settings.metrics_path("silver"), query_name)
    batch_writer = SilverBatchWriter(settings)
    writer = (
        read_kafka(spark, settings)
        .writeStream.queryName(query_name)
        .foreachBatch(batch_writer)
        .option("checkpointLocation", settings.checkpoint_location("silver"))
    )
    query = with_trigger(writer, trigger, interval).start()
    batch_writer.query_started(query.id)
    return query, recorder


def create_every_table(spark: SparkSession) -> None:
    """Every contract's silver tables, whichever streams this job runs: gold's models read
    every stream's silver table, so a stream that never ran reads as empty, not missing."""
    for stream in contracts().values():
        create_tables(spark, stream)


def start(settings: Settings, trigger: Trigger, interval: str, timeout: float | None,
          streams: list[str] | None = None) -> None:
    start_streams("silver", start_query, settings, trigger, interval, timeout, streams,
                  create_every_table)


if __name__ == "__main__":
    job_cli("silver", start_query,
            "Stream each stream's Kafka topic into Iceberg silver.<stream> and its quarantine.",
            create_every_table)()
