"""Write-audit-publish of gold on Iceberg branches (ops/gold.py), on a real pipeline: an audit
leaves what readers see untouched until the publish, and a dbt test that fails leaves every
gold table at its previous snapshot, with the command failing."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from lakehouse.catalog import iceberg_catalog
from lakehouse.settings import GOLD_FACT_TABLE, PROJECT_ROOT, SILVER_TABLE, Settings
from producer.cli import produce
from producer.events import GeneratorOptions
from tests.conftest import run_cli, settings_env

pytestmark = pytest.mark.integration

FIRST = GeneratorOptions(count=800, seed=301, days=2, duplicate_share=0.02, malformed_share=0.02)
# Later purchases: a sequence of their own (the seeded sequence's event times depend on its
# count, so a longer run of FIRST's seed would re-send FIRST's events at other times).
MORE = GeneratorOptions(count=300, seed=302, days=2, duplicate_share=0.02, malformed_share=0.02)
GOLD_MODELS = ["fct_purchases", "dim_customers", "dim_products", "agg_daily_sales",
               "agg_city_performance", "agg_customer_value",
               # the other streams' gold (models/marts/<stream>/)
               "agg_sensor_readings_hourly", "agg_api_latency_minutely", "agg_product_mentions_daily",
               "agg_funnel_daily", "agg_account_daily"]

# A purchase with a negative total, written straight into silver as a bug upstream would:
# silver's contract never lets one through, gold's test assert_no_negative_totals catches it.
INJECT_NEGATIVE_TOTAL = f"""
import uuid
from pyspark.sql import functions as F
from lakehouse.settings import load_settings
from lakehouse.spark import spark_session
spark = spark_session(load_settings(), "inject")
row = (spark.table("{SILVER_TABLE}").limit(1)
       .withColumn("event_id", F.lit(str(uuid.uuid4())))
       .withColumn("total_amount", F.lit(-5).cast("decimal(12,2)")))
row.writeTo("{SILVER_TABLE}").append()
"""


def gold_state(settings: Settings) -> dict[str, tuple[int | None, int]]:
    """Each gold table's main snapshot id and row count, as a reader sees them."""
    catalog = iceberg_catalog(settings)
    state = {}
    for name in GOLD_MODELS:
        table = catalog.load_table(f"gold.{name}")
        snapshot = table.current_snapshot()
        state[name] = (snapshot.snapshot_id if snapshot else None, len(table.scan().to_arrow()))
    return state


def branches(settings: Settings, name: str) -> set[str]:
    return set(iceberg_catalog(settings).load_table(f"gold.{name}").metadata.refs)


def silver_event_ids(settings: Settings) -> list[str]:
    table = iceberg_catalog(settings).load_table(SILVER_TABLE)
    return table.scan(selected_fields=("event_id",)).to_arrow()["event_id"].to_pylist()


def gold_event_ids(settings: Settings) -> list[str]:
    table = iceberg_catalog(settings).load_table(GOLD_FACT_TABLE)
    return table.scan(selected_fields=("event_id",)).to_arrow()["event_id"].to_pylist()


def last_json(stdout: str) -> dict:
    return json.loads(stdout.strip().splitlines()[-1])


def test_readers_see_gold_only_once_its_audit_passed_and_a_failing_test_changes_nothing(settings: Settings):
    produce(settings, FIRST, show_progress=False)
    run_cli(settings, "-m", "spark_jobs.silver")
    audited = last_json(run_cli(settings, "-m", "ops", "gold", "audit").stdout)
    # the first audit creates the tables empty on main, and builds on the branch
    assert set(audited["bootstrapped"]) >= {f"gold.{name}" for name in GOLD_MODELS}
    before = gold_state(settings)
    assert before["fct_purchases"][1] == 0
    assert all("audit" in branches(settings, name) for name in GOLD_MODELS)
    silver = silver_event_ids(settings)
    assert audited["new_fact_rows"] == len(silver) > 700

    published = last_json(run_cli(settings, "-m", "ops", "gold", "publish").stdout)
    assert published["published"][0] == GOLD_FACT_TABLE
    assert set(published["published"]) == {f"gold.{name}" for name in GOLD_MODELS}
    assert sorted(gold_event_ids(settings)) == sorted(silver)
    assert not any("audit" in branches(settings, name) for name in GOLD_MODELS)
    # a publish with nothing audited changes nothing
    again = last_json(run_cli(settings, "-m", "ops", "gold", "publish").stdout)
    assert again["published"] == [] and again["new_fact_rows"] == 0

    # gold's maintenance between two runs changes no row, and the next audit branches off it
    run_cli(settings, "-m", "spark_jobs.maintenance", "--layer", "gold")
    assert sorted(gold_event_ids(settings)) == sorted(silver)

    # the next round: only the new purchases are added
    produce(settings, MORE, show_progress=False)
    run_cli(settings, "-m", "spark_jobs.silver")
    run_cli(settings, "-m", "ops", "gold", "audit")
    assert gold_state(settings)["fct_purchases"][1] == len(silver)  # readers: not yet
    # a run stopped between audit and publish (Airflow restarted) runs again whole: a fresh
    # audit, then the publish; every event lands once
    updated = last_json(run_cli(settings, "-m", "ops", "gold", "update").stdout)
    assert updated["publish"]["new_fact_rows"] == updated["audit"]["new_fact_rows"] > 0
    gold = gold_event_ids(settings)
    assert len(gold) == len(set(gold))
    assert sorted(gold) == sorted(silver_event_ids(settings))

    # A dbt test that fails: every gold table stays at its snapshot, the command fails.
    before = gold_state(settings)
    run_cli(settings, "-c", INJECT_NEGATIVE_TOTAL)
    failed = subprocess.run([sys.executable, "-m", "ops", "gold", "audit"], cwd=PROJECT_ROOT,
                            env=settings_env(settings), capture_output=True, text=True, timeout=900)
    assert failed.returncode == 1, failed.stdout[-3000:] + failed.stderr[-3000:]
    assert "gold audit failed, gold unchanged" in failed.stderr
    assert "fct_purchases_total_amount" in failed.stderr  # the failing test is named
    assert gold_state(settings) == before
    assert not any("audit" in branches(settings, name) for name in GOLD_MODELS)
    assert last_json(run_cli(settings, "-m", "ops", "gold", "publish").stdout)["published"] == []
    assert gold_state(settings) == before


