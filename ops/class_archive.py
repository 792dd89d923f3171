"""Build the archive of JVM classes Spark's driver starts from (`make setup` runs this).

Every Spark JVM (each job, each dbt run) loads, parses and verifies the classes of Spark,
Iceberg and Kafka's client it needs as it goes, at every start. JDK 17 can write the classes
a run loaded into an archive (AppCDS, `-XX:ArchiveClassesAtExit`) that later JVMs map
instead (`-XX:SharedArchiveFile`, added by `lakehouse.spark.spark_conf` when the file exists
and `spark_class_sharing` is on), so sessions start and answer their first queries sooner
(what it bought: docs/benchmarks.md, change 18).

The archive belongs to one JDK build and one set of jars: a JVM of another build, or one whose
jars changed since, ignores it with a warning ("Unable to use shared archive") and loads its
classes itself; `make setup` builds it again when the jars or the Python packages change.
A half-written archive crashes the JVM that maps it, so it is written under another name,
checked by a JVM that must use it (`-Xshare:on`), and only then renamed into place.

    python -m ops.class_archive
"""

from __future__ import annotations

import multiprocessing
import os
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import typer

from lakehouse.logs import get_logger
from lakehouse.settings import Settings, load_settings
from lakehouse.spark import spark_session

log = get_logger("class_archive")

SAMPLE_MESSAGE = (b'{"event_id": "00000000-0000-4000-8000-000000000000", "schema_version": 1, '
                  b'"event_time": "2026-01-01T00:00:00Z", "quantity": 1}')


def exercise(settings: Settings, java_option: str) -> None:
    """Start Spark with `java_option` and run what the jobs and dbt run, on a scratch catalog,
    so that the classes they need are loaded; then stop the JVM and wait for it to exit (the
    archive is written at exit)."""
    from pyspark import SparkContext

    from spark_jobs.contract_checks import classify

    spark = spark_session(settings, "class-archive", extra_java_options=[java_option])
    spark.sql("create namespace if not exists scratch")
    spark.sql("create table scratch.sample (id bigint, name string, at timestamp, amount "
              "decimal(12,2)) using iceberg partitioned by (days(at))")
    spark.sql("insert into scratch.sample values (1, 'a', timestamp '2026-01-01 00:00:00', 1.50),"
              " (2, 'b', timestamp '2026-01-02 00:00:00', 2.25)")
    spark.sql("describe extended scratch.sample").collect()
    spark.sql("show tables in scratch").collect()
    spark.sql("""
        select s.name, count(*) as n, sum(s.amount) as total,
               row_number() over (partition by s.name order by max(s.at) desc) as rank
        from scratch.sample s left anti join (select 3 as id) o on s.id = o.id
        group by s.name""").collect()
    spark.sql("select * from scratch.sample.snapshots").collect()
    records = spark.createDataFrame(
        [("purchases", 0, 0, b"k", datetime(2026, 1, 1, tzinfo=UTC), SAMPLE_MESSAGE)],
        "topic string, partition int, offset bigint, key binary, timestamp timestamp, value binary")
    classify(records).collect()
    # the Kafka source's classes (planning only: nothing listens there)
    spark.read.format("kafka").option("kafka.bootstrap.servers", "127.0.0.1:9").option(
        "subscribe", "none").load()
    gateway = SparkContext._gateway
    spark.stop()
    if gateway is not None and gateway.proc is not None:
        gateway.proc.stdin.close()  # the gateway JVM exits on end of input, then writes
        gateway.proc.wait(timeout=600)


def _run(settings: Settings, java_option: str) -> None:
    """`exercise` in a fresh interpreter: one JVM per process, and this one has none."""
    process = multiprocessing.get_context("spawn").Process(
        target=exercise, args=(settings, java_option))
    process.start()
    process.join()
    if process.exitcode != 0:
        raise RuntimeError(f"the Spark run with {java_option} exited {process.exitcode}")


def _dump_and_check(settings: Settings, partial: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="class-archive-") as scratch:
        # the dump warns of each class it leaves out (signed jars, classes never linked)
        for run, option in (("dump", f"-XX:ArchiveClassesAtExit={partial} -Xlog:cds=off"),
                            ("check", f"-Xshare:on -XX:SharedArchiveFile={partial}")):
            home = Path(scratch) / run
            # always the local catalog in a scratch home, whatever the profile: nothing of the
            # user's tables (or AWS account) is touched
            scratch_settings = settings.model_copy(update={
                "profile": "local", "catalog_uri": None, "home": home,
                "spark_class_sharing": False})
            _run(scratch_settings, option)
            if not partial.is_file():
                raise RuntimeError(f"the JVM wrote no class archive at {partial}")


def build(settings: Settings) -> Path:
    """Write settings.spark_class_archive anew; returns its path."""
    target = settings.spark_class_archive
    partial = target.with_name(f"{target.name}.{os.getpid()}.partial")  # one per build
    started = time.monotonic()
    log.info("class_archive_building", path=str(target), note="two Spark runs, about a minute")
    try:
        _dump_and_check(settings, partial)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    os.replace(partial, target)
    log.info("class_archive_built", path=str(target), mib=round(target.stat().st_size / 2**20),
             seconds=round(time.monotonic() - started, 1))
    return target


def main() -> None:
    """Build the JVM class archive Spark's driver starts from (.jars/spark-classes.jsa)."""
    build(load_settings())


if __name__ == "__main__":
    typer.run(main)
