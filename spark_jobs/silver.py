"""Silver: Kafka -> Iceberg `silver.purchases` (typed, checked against the contract,
deduplicated on event_id, PII hashed); every failing message -> `silver.purchases_quarantine`
with its reason and Kafka coordinates; one row per micro-batch -> `silver.purchases_batches`.

Exactly once: each micro-batch commits to each table with the query id and batch id in the
snapshot summary, and a replayed batch skips a table that already holds its commit. A purchase
is a duplicate when silver already holds its event_id from another Kafka message (within the
hours of the batch's event times, so the check prunes to the days and files it touches).

    spark-submit --jars "$(ls .jars/spark/*.jar | paste -sd,)" spark_jobs/silver.py --help
"""

from __future__ import annotations

from lakehouse.settings import Settings
from lakehouse.spark import spark_session
from spark_jobs.silver_tables import create_tables
from spark_jobs.silver_writer import SilverBatchWriter
from spark_jobs.streaming import Trigger, job_cli, read_kafka, record_metrics, run, with_trigger


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
