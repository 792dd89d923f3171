"""The silver job's Spark transforms on small in-memory DataFrames (real Spark, no broker)."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from contract_oracle import quarantine_reason
from pyspark.sql import functions as F

from lakehouse.contract import Reason
from lakehouse.settings import QUARANTINE_TABLE, SILVER_BATCHES_TABLE, SILVER_TABLE
from lakehouse.spark import materialized, release
from producer.events import GeneratorOptions, encode, generate
from spark_jobs.contract_checks import classify, to_silver_rows
from spark_jobs.silver_tables import create_tables
from spark_jobs.silver_writer import SilverBatchWriter

pytestmark = pytest.mark.integration

KAFKA_SCHEMA = "topic string, partition int, offset long, key binary, timestamp timestamp, value binary"


def kafka_frame(spark, values, topic="t"):
    now = datetime.now(UTC)
    rows = [(topic, 0, i, b"k", now, v) for i, v in enumerate(values)]
    return spark.createDataFrame(rows, KAFKA_SCHEMA)


def edge_cases() -> list[bytes]:
    base = json.loads(next(m.value for m in generate(GeneratorOptions(count=3, seed=1))))
    cases = [b"", b"null", b"42", b"\"text\"", b"{}", b"{\"event_id\": 1}"]
    for field, value in [("quantity", 2.5), ("quantity", True), ("unit_price", "9.99"),
                         ("event_time", "2026-01-01 10:00:00"), ("is_member", 1),
                         ("channel", "fax"), ("country", "D"), ("event_id", ""),
                         ("total_amount", -1), ("quantity", 1001), ("schema_version", "1")]:
        cases.append(encode({**base, field: value}))
    cases.append(encode({**base, "extra_field": "ignored"}))
    return cases


def test_spark_gives_the_same_reason_as_the_contract_module(spark):
    options = GeneratorOptions(count=600, seed=21, malformed_share=0.3, duplicate_share=0.05,
                               anomaly_share=0.05)
    values = [m.value for m in generate(options)] + edge_cases()
    rows = classify(kafka_frame(spark, values)).select("kafka_offset", "reason").collect()
    got = {r.kafka_offset: r.reason for r in rows}
    expected = {i: quarantine_reason(v) for i, v in enumerate(values)}
    assert got == expected
    assert sum(r is None for r in expected.values()) > 300  # the valid ones really are valid


def test_silver_rows_are_typed_and_hold_no_clear_pii(spark):
    messages = [m for m in generate(GeneratorOptions(count=50, seed=5)) if m.kind == "valid"]
    silver = to_silver_rows(classify(kafka_frame(spark, [m.value for m in messages])), "salt")
    assert "customer_email" not in silver.columns and "customer_name" not in silver.columns
    dtypes = dict(silver.dtypes)
    assert dtypes["total_amount"] == "decimal(12,2)" and dtypes["event_time"] == "timestamp"
    emails = {json.loads(m.value)["customer_email"] for m in messages}
    hashed = {r[0] for r in silver.select("customer_email_sha256").collect()}
    assert not emails & hashed and all(len(h) == 64 for h in hashed)
    total = sum(json.loads(m.value)["total_amount"] for m in messages)
    assert float(silver.agg(F.sum("total_amount")).first()[0]) == pytest.approx(total)


def test_a_replayed_batch_commits_nothing_twice(spark, spark_settings):
    """Exactly once for a batch Spark runs again after a crash: same query, same batch id."""
    create_tables(spark)
    options = GeneratorOptions(count=300, seed=33, malformed_share=0.05, duplicate_share=0.05)
    messages = list(generate(options))
    batch = kafka_frame(spark, [m.value for m in messages], topic="replay")
    writer = SilverBatchWriter(spark_settings)
    writer.query_started("query-1")
    for _ in range(3):
        writer(batch, 0)
    silver = spark.table(SILVER_TABLE).where("kafka_topic = 'replay'")
    distinct_valid = {m.event_id for m in messages if m.kind in ("valid", "anomaly", "duplicate")}
    assert silver.count() == len(distinct_valid)
    assert silver.select("event_id").distinct().count() == len(distinct_valid)
    quarantined = spark.table(QUARANTINE_TABLE).where("kafka_topic = 'replay'")
    assert quarantined.count() == sum(m.kind == "malformed" for m in messages)
    books = spark.table(SILVER_BATCHES_TABLE).where("query_id = 'query-1'").collect()
    assert len(books) == 1
    assert books[0].duplicates_dropped == sum(m.kind == "duplicate" for m in messages)
    # The same events arriving again as new Kafka messages (a producer retry) are duplicates.
    again = kafka_frame(spark, [m.value for m in messages[:40]], topic="replay").withColumn(
        "offset", F.col("offset") + 10_000)
    writer(again, 1)
    assert silver.count() == len(distinct_valid)
    second = spark.table(SILVER_BATCHES_TABLE).where("query_id = 'query-1' and batch_id = 1").first()
    assert second.silver_rows == 0
    assert second.duplicates_dropped == sum(m.kind != "malformed" for m in messages[:40])


def test_a_batch_replayed_after_a_crash_between_commits_keeps_its_books_and_its_time_limit(
        spark, spark_settings, monkeypatch):
    """The first attempt commits silver and dies before quarantine; the replay runs later, when
    the clock would let the future event in. It is quarantined as the first attempt decided,
    silver gets nothing twice, and the books are the first attempt's."""
    import spark_jobs.silver_writer as silver_writer

    create_tables(spark)
    generated = list(generate(GeneratorOptions(count=50, seed=34, malformed_share=0.1)))
    first_valid = next(m for m in generated if m.kind == "valid")
    messages = [first_valid, *(m for m in generated if m is not first_valid)]
    ahead = json.loads(messages[0].value) | {
        "event_time": (datetime.now(UTC) + timedelta(minutes=20)).isoformat()}
    values = [json.dumps(ahead).encode(), *(m.value for m in messages[1:])]
    batch = kafka_frame(spark, values, topic="crash")
    real_append = silver_writer.append_batch

    def crash_after_silver(df, table, *args, **kwargs):
        if table != SILVER_TABLE:
            raise RuntimeError("killed between commits")
        return real_append(df, table, *args, **kwargs)

    monkeypatch.setattr(silver_writer, "append_batch", crash_after_silver)
    first = SilverBatchWriter(spark_settings)  # 5 minutes' skew: 20 minutes ahead is future
    first.query_started("query-crash")
    with pytest.raises(RuntimeError, match="between commits"):
        first(batch, 0)
    monkeypatch.setattr(silver_writer, "append_batch", real_append)
    silver = spark.table(SILVER_TABLE).where("kafka_topic = 'crash'")
    committed = silver.count()
    assert committed == sum(m.kind != "malformed" for m in messages[1:]) > 0

    later = SilverBatchWriter(spark_settings.model_copy(update={"max_future_skew_seconds": 3600.0}))
    later.query_started("query-crash")
    later(batch, 0)
    assert silver.count() == committed
    quarantined = spark.table(QUARANTINE_TABLE).where("kafka_topic = 'crash'")
    reasons = {r.kafka_offset: r.reason for r in quarantined.collect()}
    assert reasons[0] == Reason.FUTURE_EVENT_TIME
    assert len(reasons) == 1 + sum(m.kind == "malformed" for m in messages[1:])
    books = spark.table(SILVER_BATCHES_TABLE).where("query_id = 'query-crash'").collect()
    assert len(books) == 1
    assert (books[0].silver_rows, books[0].quarantined_rows, books[0].already_present) == (
        committed, len(reasons), 0)


def test_a_materialized_batch_is_computed_once_and_released(spark):
    def stored_rdd_ids():
        return {info.id() for info in spark.sparkContext._jsc.sc().getRDDStorageInfo()}

    before = stored_rdd_ids()
    rows = materialized(spark.range(20_000).select((F.col("id") * 2).alias("x")))
    assert rows.count() == 20_000 and rows.where("x % 4 = 0").count() == 10_000
    kept = stored_rdd_ids() - before
    assert len(kept) == 1  # the rows, kept after the first action
    release(rows)
    assert not (stored_rdd_ids() & kept)
