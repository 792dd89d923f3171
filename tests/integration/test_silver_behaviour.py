"""What silver does with each kind of input: every quarantine reason, late and out-of-order
events, PII. Real Spark and Iceberg, in-process, no broker."""

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from pyspark.sql import functions as F

from lakehouse.contract import Reason
from lakehouse.settings import SILVER_TABLE
from producer.events import MALFORMED_KINDS, GeneratorOptions, encode, generate, malformed
from spark_jobs.contract_checks import classify
from spark_jobs.silver_tables import create_tables
from spark_jobs.silver_writer import SilverBatchWriter
from tests.integration.test_silver_transforms import kafka_frame

pytestmark = pytest.mark.integration


def one_event(seed: int = 1) -> dict:
    message = next(m for m in generate(GeneratorOptions(count=5, seed=seed)) if m.kind == "valid")
    return json.loads(message.value, parse_float=Decimal)


@pytest.mark.parametrize("reason", [*MALFORMED_KINDS, Reason.FUTURE_EVENT_TIME])
def test_each_quarantine_reason(spark, reason):
    event = one_event()
    if reason == Reason.FUTURE_EVENT_TIME:
        event["event_time"] = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
        value = encode(event)
    else:
        value = malformed(event, reason)
    rows = classify(kafka_frame(spark, [value, encode(one_event(2))])).select("reason").collect()
    assert [r.reason for r in rows] == [reason, None]


def test_small_future_skew_is_accepted(spark):
    event = one_event()
    event["event_time"] = (datetime.now(UTC) + timedelta(minutes=1)).isoformat()
    assert classify(kafka_frame(spark, [encode(event)])).first().reason is None


def test_late_and_out_of_order_events_land_in_their_day_partition(spark, spark_settings):
    create_tables(spark)
    now = datetime.now(UTC)
    ages = [timedelta(days=9), timedelta(minutes=5), timedelta(days=3, hours=5), timedelta(days=30)]
    events = []
    for i, age in enumerate(ages):
        event = one_event(seed=100 + i)
        event["event_time"] = (now - age).isoformat()
        events.append(event)
    writer = SilverBatchWriter(spark_settings)
    writer.query_started("late-data")
    writer(kafka_frame(spark, [encode(e) for e in events], topic="late"), 0)
    rows = (
        spark.table(SILVER_TABLE).where("kafka_topic = 'late'")
        .select("event_id", "event_time", F.col("_partition.event_time_day").alias("day"))
        .collect()
    )
    assert {r.event_id for r in rows} == {e["event_id"] for e in events}
    for row in rows:
        assert row.day == row.event_time.date()


def test_no_clear_pii_reaches_silver(spark, spark_settings):
    create_tables(spark)
    messages = list(generate(GeneratorOptions(count=200, seed=77)))
    writer = SilverBatchWriter(spark_settings)
    writer.query_started("pii")
    writer(kafka_frame(spark, [m.value for m in messages], topic="pii"), 0)
    silver = spark.table(SILVER_TABLE).where("kafka_topic = 'pii'")
    assert silver.count() > 150
    clear = set()
    for m in messages:
        if m.kind != "malformed":
            event = json.loads(m.value)
            clear |= {event["customer_email"], event["customer_name"]}
    strings = [c for c, t in silver.dtypes if t == "string"]
    values = {v for row in silver.select(*strings).collect() for v in row}
    assert not values & clear
    assert "customer_email" not in silver.columns and "customer_name" not in silver.columns


def test_schema_evolution_adds_the_new_optional_column_and_quarantines_incompatible_events(
        spark, spark_settings):
    create_tables(spark)
    # the table as the version-1 contract made it
    spark.sql(f"alter table {SILVER_TABLE} drop column coupon_code")
    assert "coupon_code" not in spark.table(SILVER_TABLE).columns
    create_tables(spark)  # what the silver job does when it starts with the version-2 contract
    assert "coupon_code" in spark.table(SILVER_TABLE).columns

    v1 = {**one_event(300), "schema_version": 1}
    v2 = {**one_event(301), "schema_version": 2, "coupon_code": "SPRING10"}
    v2_wrong_type = {**one_event(302), "schema_version": 2, "coupon_code": 10}
    v3 = {**one_event(303), "schema_version": 3, "coupon_code": "X", "loyalty_tier": "gold"}
    writer = SilverBatchWriter(spark_settings)
    writer.query_started("evolution")
    batch = kafka_frame(spark, [encode(e) for e in (v1, v2, v2_wrong_type, v3)], topic="evo")
    writer(batch, 0)
    silver = {r.event_id: r.coupon_code for r in spark.table(SILVER_TABLE)
              .where("kafka_topic = 'evo'").select("event_id", "coupon_code").collect()}
    assert silver == {v1["event_id"]: None, v2["event_id"]: "SPRING10"}
    reasons = {r.event_id: r.reason for r in spark.table("silver.purchases_quarantine")
               .where("kafka_topic = 'evo'").collect()}
    assert reasons == {v2_wrong_type["event_id"]: "wrong_type:coupon_code",
                       v3["event_id"]: Reason.UNKNOWN_SCHEMA_VERSION}
