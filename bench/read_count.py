"""The drain baseline: a Spark query that only reads the topic and counts it, with the same
Kafka source, trigger and metrics as the bronze and silver jobs (spark_jobs.streaming), so
the ratio shows what bronze's files and silver's checks and commits cost on top of reading.

    python -m bench.read_count   (settings from LAKEHOUSE_* like every job)
"""

from __future__ import annotations

from pyspark.sql import DataFrame

from lakehouse.logs import get_logger
from lakehouse.settings import Settings
from lakehouse.spark import spark_session
from spark_jobs.streaming import Trigger, job_cli, read_kafka, record_metrics, run, with_trigger

log = get_logger("read_count")
JOB = "read_count"


def count_batch(batch: DataFrame, batch_id: int) -> None:
    log.info("batch_counted", batch_id=batch_id, rows=batch.count())


def start(settings: Settings, trigger: Trigger, interval: str, timeout: float | None) -> None:
    spark = spark_session(settings, JOB)
    query_name = f"{JOB}-{settings.topic}"
    recorder = record_metrics(spark, settings.metrics_path(JOB), query_name)
    writer = (
        read_kafka(spark, settings)
        .writeStream.queryName(query_name)
        .foreachBatch(count_batch)
        .option("checkpointLocation", settings.checkpoint_location(JOB))
    )
    run(with_trigger(writer, trigger, interval).start(), trigger, timeout, recorder)


if __name__ == "__main__":
    job_cli(start, "Read the Kafka topic and count it: the drain baseline of make bench.")()
