"""The serving layer for real. Its views (dbt_project/models/serving/) against a full recompute
from silver: after a gold publish, with silver ahead of gold (late events for days gold holds,
re-sent duplicates), after an audit that is not published yet, between the fact's fast-forward
and the marts', and after the publish; every view equals the recompute each time. Its alerts
(python -m serving alerts) on the live stack: a stream gone stale raises one alert, kept open
and not raised again while it stays stale, resolved once rows flow again."""

from __future__ import annotations

import json
import time

import pytest
from kafka import KafkaProducer

from lakehouse.catalog import iceberg_catalog
from lakehouse.kafka_clients import python_client_options
from lakehouse.settings import SILVER_TABLE, Settings
from producer.cli import produce
from producer.events import GeneratorOptions
from producer.streams import messages
from tests.conftest import run_cli

pytestmark = pytest.mark.integration

STREAMS = ("purchases", "iot_sensors", "api_logs", "financial_transactions")
FIRST = GeneratorOptions(count=700, seed=611, days=2, duplicate_share=0.03, malformed_share=0.02)
# a sequence of its own over the same two days: its events fall on hours, minutes and days
# gold already holds, and a share of them arrives hours late
LATER = GeneratorOptions(count=400, seed=612, days=2, duplicate_share=0.03, malformed_share=0.02,
                         late_share=0.1)
RESENT = 60  # FIRST's first messages of each stream, sent again verbatim after gold holds them

# Each view's full recompute from silver, written apart from the dbt macros it checks.
RECOMPUTE = {
    "serving.daily_sales": """
        select cast(event_time as date) as event_date, category, currency, count(*) as orders,
               sum(quantity) as units, sum(total_amount) as revenue,
               cast(sum(total_amount) / count(*) as decimal(12, 2)) as average_order_value,
               max(ingested_at) as newest_arrival
        from silver.purchases group by 1, 2, 3""",
    "serving.city_performance": """
        select country, city, currency, count(*) as orders,
               count_if(total_amount >= 500) as premium_orders,
               count_if(total_amount < 500) as standard_orders,
               sum(total_amount) as revenue,
               sum(if(total_amount >= 500, total_amount, 0)) as premium_revenue,
               sum(if(total_amount >= 500, 0, total_amount)) as standard_revenue,
               cast(100 * sum(if(total_amount >= 500, total_amount, 0)) / sum(total_amount)
                    as decimal(5, 2)) as premium_share_pct,
               max(ingested_at) as newest_arrival
        from silver.purchases group by 1, 2, 3""",
    "serving.sensor_readings_hourly": """
        select r.device_id, r.site, r.metric, r.unit, date_trunc('hour', r.event_time) as reading_hour,
               count(*) as readings, min(r.value) as min_value, max(r.value) as max_value,
               cast(avg(r.value) as decimal(12, 2)) as avg_value,
               count_if(r.value < n.normal_min or r.value > n.normal_max) as out_of_range_readings,
               min(r.battery) as min_battery_pct, max(r.ingested_at) as newest_arrival
        from silver.iot_sensors as r left join gold.sensor_normal_ranges as n on r.metric = n.metric
        group by 1, 2, 3, 4, 5""",
    "serving.api_latency_minutely": """
        select service, endpoint, method, date_trunc('minute', event_time) as request_minute,
               count(*) as requests, count_if(status >= 500) as server_errors,
               count_if(status >= 400 and status < 500) as client_errors,
               cast(count_if(status >= 500) * 1.0 / count(*) as decimal(5, 4)) as server_error_rate,
               percentile_approx(latency_ms, 0.5) as latency_p50_ms,
               percentile_approx(latency_ms, 0.95) as latency_p95_ms,
               percentile_approx(latency_ms, 0.99) as latency_p99_ms,
               max(latency_ms) as latency_max_ms, max(ingested_at) as newest_arrival
        from silver.api_logs group by 1, 2, 3, 4""",
    "serving.account_daily": """
        select account_id, cast(event_time as date) as event_date, currency,
               count(*) as transaction_count, sum(amount) as amount_total, max(amount) as largest_amount,
               count_if(amount >= 10000) as large_transfers,
               count_if(amount >= 10000) > 0 as has_large_transfer,
               max(ingested_at) as newest_arrival
        from silver.financial_transactions group by 1, 2, 3""",
}

# For each view: its rows, the rows the recompute lacks or has more of (multiset differences,
# by name), and the speed view's share: groups whose newest arrival is past the mart's.
COMPARE = """
import json
from lakehouse.settings import load_settings
from lakehouse.spark import spark_session
spark = spark_session(load_settings(), "serving-check")
out = {}
for view, recompute in json.loads(%r).items():
    served = spark.table(view)
    full = spark.sql(recompute).select(*served.columns)
    mart = "gold.agg_" + view.split(".")[1]
    watermark = spark.sql(f"select max(newest_arrival) from {mart}").first()[0]
    out[view] = {
        "rows": served.count(),
        "only_in_view": served.exceptAll(full).count(),
        "only_in_recompute": full.exceptAll(served).count(),
        "speed_groups": (served.where(served.newest_arrival > watermark).count() if watermark
                         else served.count()),
    }
print(json.dumps(out))
"""

FAST_FORWARD_FACT_ONLY = """
from lakehouse.settings import load_settings
from lakehouse.spark import spark_session
settings = load_settings()
spark = spark_session(settings, "half-publish")
spark.sql(f"call {settings.catalog_name}.system.fast_forward('gold.fct_purchases', 'main', 'audit')")
"""


def compare(settings: Settings) -> dict[str, dict[str, int]]:
    result = run_cli(settings, "-c", COMPARE % json.dumps(RECOMPUTE))
    return json.loads(result.stdout.strip().splitlines()[-1])


def assert_served_equals_recompute(settings: Settings, moment: str) -> dict[str, dict[str, int]]:
    found = compare(settings)
    for view, figures in found.items():
        assert figures["rows"] > 0, (moment, view, figures)
        assert figures["only_in_view"] == figures["only_in_recompute"] == 0, (moment, view, figures)
    return found


def silver_drain(settings: Settings) -> None:
    run_cli(settings, "-m", "spark_jobs.silver", *(arg for s in STREAMS for arg in ("--stream", s)))


def resend(settings: Settings, count: int) -> None:
    """FIRST's first valid messages of every stream, sent again byte for byte."""
    producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap, **python_client_options(settings))
    for stream in STREAMS:
        topic = settings.for_stream(stream).topic
        sent = 0
        for message in messages(stream, FIRST):
            if message.kind in {"valid", "anomaly"} and sent < count:
                producer.send(topic, key=message.key, value=message.value)
                sent += 1
    producer.flush()
    producer.close()


def test_every_serving_view_equals_a_full_recompute_from_silver_at_every_moment(settings: Settings):
    for stream in STREAMS:
        produce(settings.for_stream(stream), FIRST, show_progress=False)
    silver_drain(settings)
    run_cli(settings, "-m", "ops", "gold", "update")
    published = assert_served_equals_recompute(settings, "after the first publish")
    # gold holds all of silver: the views are the marts
    assert all(figures["speed_groups"] == 0 for figures in published.values()), published

    # silver moves ahead of gold: new and late events on days gold holds, and re-sent ones
    for stream in STREAMS:
        produce(settings.for_stream(stream), LATER, show_progress=False)
    resend(settings, RESENT)
    silver_drain(settings)
    ahead = assert_served_equals_recompute(settings, "silver ahead of gold")
    assert all(ahead[view]["speed_groups"] > 0 for view in ahead), ahead

    # audited, not published: readers of the views see no difference
    run_cli(settings, "-m", "ops", "gold", "audit")
    assert assert_served_equals_recompute(settings, "audited, not published") == ahead
    # a publish half-way: the new fact beside the previous marts
    run_cli(settings, "-c", FAST_FORWARD_FACT_ONLY)
    assert assert_served_equals_recompute(settings, "between the fact's publish and the marts'") == ahead
    run_cli(settings, "-m", "ops", "gold", "publish")
    done = assert_served_equals_recompute(settings, "after the second publish")
    assert all(figures["speed_groups"] == 0 for figures in done.values()), done
    assert {view: figures["rows"] for view, figures in done.items()} == {
        view: figures["rows"] for view, figures in ahead.items()}
    # every rule over the views runs on them (none of this data is within the rules' windows
    # of the clock but the last two days' transfers, whose burst rule sees what silver holds)
    run = alert_run(settings)
    assert set(run["ran"]) == {"sensor_out_of_range", "endpoint_error_rate", "large_transfer_burst",
                               "silver_freshness"}, run
    assert set(run["skipped"]) == {"anomaly_share"}  # gold.purchase_anomalies: ml never ran here
    assert {a["subject"] for a in run["raised"] if a["rule"] == "large_transfer_burst"} == \
        large_transfer_bursts(settings)


def large_transfer_bursts(settings: Settings) -> set[str]:
    """Accounts with more than 3 transfers of at least 10,000 since yesterday (UTC), from silver."""
    from collections import Counter
    from datetime import UTC, datetime, timedelta

    since = (datetime.now(UTC) - timedelta(days=1)).date()
    rows = iceberg_catalog(settings).load_table("silver.financial_transactions").scan(
        selected_fields=("account_id", "amount", "event_time")).to_arrow().to_pylist()
    counts = Counter(row["account_id"] for row in rows
                     if row["amount"] >= 10_000 and row["event_time"].date() >= since)
    return {account for account, count in counts.items() if count > 3}


def alert_run(settings: Settings) -> dict:
    return json.loads(run_cli(settings, "-m", "serving", "alerts").stdout.strip().splitlines()[-1])


def alert_rows(settings: Settings) -> list[dict]:
    return iceberg_catalog(settings).load_table("serving.alerts").scan().to_arrow().to_pylist()


def silver_rows(settings: Settings) -> int:
    try:
        return len(iceberg_catalog(settings).load_table(SILVER_TABLE).scan(
            selected_fields=("event_id",)).to_arrow())
    except Exception:  # noqa: BLE001 - the table appears with the stream's first batch
        return 0


def wait_for(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout:.0f} s: {what}")
        time.sleep(1)


LIMIT = 45.0  # seconds without a new silver row before a stream is stale, for this test


def test_on_the_live_stack_a_stale_stream_raises_one_alert_kept_open_then_resolved(settings: Settings):
    settings = settings.model_copy(update={"live_rate": 30.0, "live_trigger_interval": "2 seconds",
                                           "alert_freshness_limit_seconds": LIMIT})
    run_cli(settings, "-m", "ops", "live", "up")
    try:
        wait_for(lambda: silver_rows(settings) > 50, 240, "silver holds 50 rows")
        fresh = alert_run(settings)
        assert "silver_freshness" in fresh["ran"] and fresh["raised"] == [], fresh
        # no gold published yet: the rules over the serving views say why they did not run
        assert "sensor_readings_hourly" in fresh["skipped"]["sensor_out_of_range"]
    finally:
        run_cli(settings, "-m", "ops", "live", "down")
    stopped_at = silver_rows(settings)
    time.sleep(LIMIT + 5)

    stale = alert_run(settings)
    [raised] = stale["raised"]
    assert (raised["rule"], raised["subject"]) == ("silver_freshness", "purchases")
    assert raised["value"] > LIMIT
    again = alert_run(settings)
    assert again["raised"] == [] and again["resolved"] == [] and again["still_open"] == 1
    [alert] = alert_rows(settings)
    assert alert["status"] == "open" and alert["last_seen"] > alert["first_seen"]
    opened = alert["alert_id"]

    run_cli(settings, "-m", "ops", "live", "up")
    try:
        wait_for(lambda: silver_rows(settings) > stopped_at + 50, 240, "silver grows again")
        cleared = alert_run(settings)
    finally:
        run_cli(settings, "-m", "ops", "live", "down")
    assert cleared["resolved"] == [{"rule": "silver_freshness", "subject": "purchases"}], cleared
    assert cleared["raised"] == [] and cleared["open_alerts"] == 0
    [alert] = alert_rows(settings)
    assert alert["status"] == "resolved" and alert["resolved_at"] >= alert["last_seen"]
    assert alert["alert_id"] == opened  # the one alert, updated in place until resolved
