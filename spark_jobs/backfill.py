"""Backfill: rebuild silver from the bronze files, through the same checks as the stream.

Empties a stream's silver table (`--stream`, default purchases), its quarantine and its books,
then runs every committed bronze record of its topic through the silver job's batch writer as
one batch. Stop the silver stream first.
When the stream resumes from its checkpoint, messages the backfill already wrote are
recognised by their Kafka coordinates and counted as `already_present`, not written again.

    spark-submit --jars "$(ls .jars/spark/*.jar | paste -sd,)" spark_jobs/backfill.py --help
"""

from __future__ import annotations

import uuid

import typer
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from lakehouse.contract import contract
from lakehouse.logs import get_logger
from lakehouse.settings import Settings, load_settings
from lakehouse.spark import spark_session
from spark_jobs.bronze import read_bronze
from spark_jobs.silver_tables import BatchBooks, create_tables
from spark_jobs.silver_writer import SilverBatchWriter

log = get_logger("backfill")


def bronze_as_kafka_records(bronze: DataFrame) -> DataFrame:
    """Bronze records -> the columns Spark's Kafka source gives. Pure."""
    return bronze.select(
        F.col("topic"),
        F.col("partition").cast("int").alias("partition"),
        F.col("offset").cast("bigint").alias("offset"),
        F.col("key").cast("binary").alias("key"),
        F.col("kafka_timestamp").cast("timestamp").alias("timestamp"),
        F.col("value"),
    )


def backfill(settings: Settings, spark: SparkSession | None = None) -> BatchBooks:
    spark = spark or spark_session(settings, "silver-backfill")
    stream = contract(settings.stream)
    create_tables(spark, stream)
    records = bronze_as_kafka_records(read_bronze(spark, settings))
    for table in stream.tables:
        spark.sql(f"delete from {table}")
    writer = SilverBatchWriter(settings)
    query_id = f"backfill-{uuid.uuid4()}"
    writer.query_started(query_id)
    writer(records, 0)
    books = spark.table(stream.batches_table).where(F.col("query_id") == query_id).first()
    result = BatchBooks(**{k: books[k] for k in BatchBooks.__dataclass_fields__})
    log.info("backfill_done", **result.__dict__)
    return result


def main(stream: str = typer.Option(None, help="Stream (a contract in contracts/); default: "
                                     "LAKEHOUSE_STREAM (purchases).")) -> None:
    """Rebuild a stream's Iceberg silver table and its quarantine from its bronze files."""
    try:
        settings = load_settings()
        books = backfill(settings.for_stream(contract(stream or settings.stream).name))
    except Exception as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"backfilled {books.input_rows} bronze records: {books.silver_rows} silver rows, "
               f"{books.quarantined_rows} quarantined, {books.duplicates_dropped} duplicates dropped")


if __name__ == "__main__":
    typer.run(main)
