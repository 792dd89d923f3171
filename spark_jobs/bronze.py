"""Bronze: each stream's Kafka topic -> JSON-lines files, one record per Kafka message, value
untouched, in a folder per topic.

Each record keeps the message's topic, partition, offset, key and Kafka timestamp, plus
ingested_at; files are partitioned by ingest_date. The value is the message's raw bytes,
base64-encoded (Spark's JSON encoding of binary), so even bytes that are not UTF-8 survive.
Spark's file sink commits each micro-batch to `_spark_metadata`: read bronze through Spark
(`spark.read.json(path)`), which skips files of batches that never committed.

    spark-submit --jars "$(ls .jars/spark/*.jar | paste -sd,)" spark_jobs/bronze.py --help
"""

from __future__ import annotations

import time

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.streaming import StreamingQuery

from lakehouse.logs import get_logger
from lakehouse.settings import Settings
from spark_jobs.streaming import (
    MetricsRecorder,
    Trigger,
    job_cli,
    read_kafka,
    record_metrics,
    start_streams,
    with_trigger,
)

log = get_logger("bronze")


def to_bronze(kafka_records: DataFrame) -> DataFrame:
    """Kafka records -> bronze records. Pure: no I/O."""
    ingested_at = F.current_timestamp()
    return kafka_records.select(
        F.col("topic"),
        F.col("partition"),
        F.col("offset"),
        F.col("key").cast("string").alias("key"),
        F.col("timestamp").alias("kafka_timestamp"),
        F.col("value"),
        ingested_at.alias("ingested_at"),
        F.to_date(ingested_at).alias("ingest_date"),
    )


def read_bronze(spark, settings: Settings) -> DataFrame:  # type: ignore[no-untyped-def]
    """The committed bronze records, with `value` decoded back to bytes."""
    return spark.read.json(settings.bronze_location).withColumn("value", F.unbase64("value"))


def start_query(spark: SparkSession, settings: Settings, trigger: Trigger,
                interval: str) -> tuple[StreamingQuery, MetricsRecorder]:
    query_name = f"bronze-{settings.topic}"
    recorder = record_metrics(spark, settings.metrics_path("bronze"), query_name)
    writer = (
        to_bronze(read_kafka(spark, settings))
        .writeStream.queryName(query_name)
        .format("json")
        .partitionBy("ingest_date")
        .option("path", settings.bronze_location)
        .option("checkpointLocation", settings.checkpoint_location("bronze"))
        .outputMode("append")
    )
    return with_trigger(writer, trigger, interval).start(), recorder


def start(settings: Settings, trigger: Trigger, interval: str, timeout: float | None,
          streams: list[str] | None = None) -> None:
    started = time.monotonic()
    start_streams("bronze", start_query, settings, trigger, interval, timeout, streams)
    log.info("bronze_done", seconds=round(time.monotonic() - started, 2),
             streams=streams or [settings.stream])


if __name__ == "__main__":
    job_cli("bronze", start_query, "Stream each stream's Kafka topic into bronze JSON-lines files.")()
