"""The drain baseline: a Spark query that only reads the topic and counts it, with the same
Kafka source, trigger and metrics as the bronze and silver jobs (spark_jobs.streaming), so
the ratio shows what bronze's files and silver's checks and commits cost on top of reading.

    python -m bench.read_count   (settings from LAKEHOUSE_* like every job)
"""

from __future__ import annotations

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.streaming import StreamingQuery

from lakehouse.logs import get_logger
from lakehouse.settings import Settings
from spark_jobs.streaming import MetricsRecorder, Trigger, job_cli, read_kafka, record_metrics, with_trigger

log = get_logger("read_count")
JOB = "read_count"


def count_batch(batch: DataFrame, batch_id: int) -> None:
    log.info("batch_counted", batch_id=batch_id, rows=batch.count())


def start_query(spark: SparkSession, settings: Settings, trigger: Trigger,
                interval: str) -> tuple[StreamingQuery, MetricsRecorder]:
    query_name = f"{JOB}-{settings.topic}"
    recorder = record_metrics(spark, settings.metrics_path(JOB), query_name)
    writer = (
        read_kafka(spark, settings)
        .writeStream.queryName(query_name)
        .foreachBatch(count_batch)
        .option("checkpointLocation", settings.checkpoint_location(JOB))
    )
    return with_trigger(writer, trigger, interval).start(), recorder


if __name__ == "__main__":
    job_cli(JOB, start_query, "Read the Kafka topics and count them: the drain baseline of make bench.")()
