"""Table care on a silver table built by 200+ micro-batch commits."""

import os
import time

import pytest

from lakehouse.settings import SILVER_TABLE
from producer.events import GeneratorOptions, generate
from spark_jobs.contract_checks import classify, to_silver_rows
from spark_jobs.maintenance import maintain, table_stats
from spark_jobs.silver_tables import create_tables
from tests.integration.test_silver_transforms import kafka_frame

pytestmark = pytest.mark.integration

BATCHES = 210


def test_maintenance_shrinks_files_and_manifests_and_keeps_every_row(spark, spark_settings):
    # The session's catalog is shared: rows other tests left in silver (other event days) would
    # break the count of files per day below, depending on the order the tests run in.
    spark.sql(f"drop table if exists {SILVER_TABLE} purge")
    create_tables(spark)
    messages = [m for m in generate(GeneratorOptions(count=BATCHES * 3, seed=5, days=10))
                if m.kind == "valid"]
    rows = to_silver_rows(classify(kafka_frame(spark, [m.value for m in messages], "maint")), "s")
    rows = rows.localCheckpoint()
    per_batch = rows.randomSplit([1.0] * BATCHES, seed=1)
    for batch in per_batch:  # one commit per micro-batch, as the stream makes them
        batch.writeTo(SILVER_TABLE).append()
    query = f"select * from {SILVER_TABLE} order by kafka_topic, kafka_partition, kafka_offset"
    before_rows = spark.sql(query).collect()
    before = table_stats(spark, SILVER_TABLE)
    assert before.snapshots >= BATCHES and before.data_files >= BATCHES

    data_dir = spark_settings.warehouse / "silver" / "purchases" / "data"
    orphan = data_dir / "left-by-a-crashed-writer.parquet"
    orphan.write_bytes(b"not referenced by any snapshot")
    two_days_ago = time.time() - 2 * 86400
    os.utime(orphan, (two_days_ago, two_days_ago))

    reports = maintain(spark_settings, spark, cold_after_days=0, snapshot_retention_hours=0,
                       retain_last=20, orphan_older_than_hours=24)

    silver = next(r for r in reports if r.table == SILVER_TABLE)
    after = table_stats(spark, SILVER_TABLE)
    print(f"silver data files {before.data_files} -> {after.data_files}, "
          f"manifests {before.manifests} -> {after.manifests}, "
          f"snapshots {before.snapshots} -> {after.snapshots}")
    assert after.data_files <= 11  # one file per event day (10 days and today at most)
    assert after.data_files < before.data_files / 10
    assert after.manifests < before.manifests
    assert after.snapshots <= 20
    assert silver.rewritten_files >= before.data_files - 11
    assert spark.sql(query).collect() == before_rows
    assert not orphan.exists() and silver.orphans_removed >= 1
