"""Gold with dbt on a real pipeline (Kafka -> silver -> dbt on the local target, real Spark and
Iceberg): dbt build with every data test, incremental runs that equal a full refresh, the
analyses run locally, the docs catalog; and the Athena compilation of the same project."""

from __future__ import annotations

import json
import re
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlglot
from sqlglot.errors import ErrorLevel

from lakehouse.catalog import iceberg_catalog
from lakehouse.settings import DBT_PROJECT_DIR, GOLD_FACT_TABLE, SILVER_TABLE, Settings
from ops.analyses import analysis_names
from ops.dbt_runner import dbt_env, dbt_target_dir
from producer.cli import produce
from producer.events import GeneratorOptions
from tests.conftest import run_cli

pytestmark = pytest.mark.integration

END = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
# Round 1: two days of purchases up to now. Round 2 pushes new ones, late ones (event_time 9 to
# 11 days back: before gold's lookback window on event_time) and re-sends of round 1.
ROUND_1 = GeneratorOptions(count=600, seed=101, days=2, end_time=END, anomaly_share=0.02,
                           duplicate_share=0.02)
NEW = GeneratorOptions(count=150, seed=102, days=0.5, end_time=END, duplicate_share=0.05)
LATE = GeneratorOptions(count=150, seed=103, days=2, end_time=END - timedelta(days=9))
RESENT = 100  # the last messages of round 1, sent again
MARTS = ["fct_purchases", "dim_customers", "dim_products", "agg_daily_sales",
         "agg_city_performance", "agg_customer_value",
         # the other streams' gold (models/marts/<stream>/)
         "agg_sensor_readings_hourly", "agg_api_latency_minutely", "agg_product_mentions_daily",
         "agg_funnel_daily", "agg_account_daily"]


def dbt(settings: Settings, *args: str) -> dict:
    """`lakehouse dbt <args>` as a user runs it; the run_results of the command."""
    target = dbt_target_dir(settings)
    run_cli(settings, "-m", "ops", "dbt", *args,
            "--target-path", str(target), "--log-path", str(target.parent / "logs"))
    return json.loads((target / "run_results.json").read_text())


def silver(settings: Settings) -> None:
    run_cli(settings, "-m", "spark_jobs.silver")


def fact_rows(settings: Settings) -> list[dict]:
    table = iceberg_catalog(settings).load_table(GOLD_FACT_TABLE).scan().to_arrow()
    return sorted(table.to_pylist(), key=lambda row: row["event_id"])


@pytest.fixture(scope="module")
def gold(tmp_path_factory: pytest.TempPathFactory, kafka_bootstrap: str) -> Iterator[tuple[Settings, dict]]:
    """One pipeline for the module: round 1 produced, through silver, then `dbt build`."""
    settings = Settings(home=tmp_path_factory.mktemp("gold") / "lakehouse",
                        kafka_bootstrap=kafka_bootstrap, topic=f"purchases_{uuid.uuid4().hex[:10]}")
    produce(settings, ROUND_1, show_progress=False)
    silver(settings)
    yield settings, dbt(settings, "build")


def test_dbt_build_passes_with_every_data_test(gold):
    _, run_results = gold
    statuses = Counter(r["status"] for r in run_results["results"])
    assert set(statuses) == {"success", "pass"}, [
        (r["unique_id"], r["status"], r["message"]) for r in run_results["results"]
        if r["status"] not in ("success", "pass")]
    built = {r["unique_id"].split(".")[-1] for r in run_results["results"]
             if r["unique_id"].startswith("model.")}
    assert built >= set(MARTS)
    tests = [r["unique_id"].split(".")[2] for r in run_results["results"]
             if r["unique_id"].startswith("test.")]
    for kind in ("unique_", "not_null_", "relationships_", "accepted_values_", "accepted_range_",
                 "unique_combination_of_columns_", "reconciles_with_agg_daily_sales",
                 "assert_gold_revenue_reconciles_with_silver", "assert_no_negative_totals"):
        assert any(name.startswith(kind) for name in tests), kind


def test_incremental_runs_equal_a_full_refresh(gold):
    settings, _ = gold
    before = {row["event_id"] for row in fact_rows(settings)}
    late = produce(settings, LATE, show_progress=False)
    produce(settings, NEW, show_progress=False)
    produce(settings, ROUND_1, skip=ROUND_1.count - RESENT, show_progress=False)
    assert late.sent == LATE.count
    silver(settings)

    results = dbt(settings, "build")
    assert all(r["status"] in ("success", "pass") for r in results["results"])
    target = dbt_target_dir(settings)
    ran = next(target.glob("run/**/fct_purchases.sql")).read_text()
    assert "insert into" in ran.lower()  # an incremental run, not a rebuild
    assert "create or replace table" not in ran.lower()
    incremental = fact_rows(settings)

    dbt(settings, "run", "--full-refresh", "--select", "fct_purchases")
    assert incremental == fact_rows(settings)

    silver_ids = iceberg_catalog(settings).load_table(SILVER_TABLE).scan(
        selected_fields=("event_id", "event_time")).to_arrow().to_pylist()
    ids = [row["event_id"] for row in incremental]
    assert len(ids) == len(set(ids)) == len(silver_ids)
    late_ids = {r["event_id"] for r in silver_ids if r["event_time"] < END - timedelta(days=8)}
    assert len(late_ids) > 100 and late_ids <= set(ids) - before


def test_every_analysis_runs_locally(gold):
    settings, _ = gold
    run_cli(settings, "-m", "ml")
    result = run_cli(settings, "-m", "ops", "query", "--all", "--limit", "3")
    rows = dict(re.findall(r"analysis='(\w+)' rows=(\d+)", result.stderr))
    assert set(rows) == set(analysis_names())
    assert all(int(n) > 0 for n in rows.values()), rows
    for name in analysis_names():
        assert name in result.stdout

    # --serve (the purchases_serving DAG): every result whole, as JSON under the home
    served = run_cli(settings, "-m", "ops", "query", "--all", "--serve")
    for name, count in rows.items():
        view = json.loads((settings.serving_dir / f"{name}.json").read_text())
        assert view["name"] == name and len(view["rows"]) == int(count)
        assert len(view["columns"]) == len(view["rows"][0])
        assert f"served {name}: {count} rows" in served.stdout


def test_docs_catalog_lists_every_mart_column_described(gold):
    settings, _ = gold
    dbt(settings, "docs", "generate")
    target = dbt_target_dir(settings)
    catalog = json.loads((target / "catalog.json").read_text())["nodes"]
    manifest = json.loads((target / "manifest.json").read_text())["nodes"]
    fct = catalog["model.purchases_lakehouse.fct_purchases"]["columns"]
    assert {"event_id", "event_time", "event_date", "total_amount", "ingested_at"} <= set(fct)
    for mart in MARTS:
        node = f"model.purchases_lakehouse.{mart}"
        described = {name for name, column in manifest[node]["columns"].items()
                     if column["description"].strip()}
        assert set(catalog[node]["columns"]) == described, mart


def test_silver_source_is_fresh(gold):
    settings, _ = gold
    run_cli(settings, "-m", "ops", "dbt", "source", "freshness", "--select", "source:silver",
            "--target-path", str(dbt_target_dir(settings)))
    sources = json.loads((dbt_target_dir(settings) / "sources.json").read_text())["results"]
    assert [(s["unique_id"], s["status"]) for s in sources] == [
        ("source.purchases_lakehouse.silver.purchases", "pass")]


# ---------------------------------------------------------------- the athena target
def compile_for_athena(tmp_path: Path, select: str, *flags: str) -> Path:
    """`dbt compile --target athena` in-process; the folder of the compiled SQL."""
    from dbt.cli.main import dbtRunner

    target = tmp_path / "target"
    result = dbtRunner().invoke([
        "--log-level", "none", "compile", "--target", "athena", "--select", select, *flags,
        "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
        "--target-path", str(target), "--log-path", str(tmp_path / "logs"),
    ])
    assert result.success, result.exception or (tmp_path / "logs" / "dbt.log").read_text()[-4000:]
    return target / "compiled" / "purchases_lakehouse"


def parses_as_athena(sql: str) -> bool:
    statements = sqlglot.parse(sql, read="athena", error_level=ErrorLevel.RAISE)
    return len(statements) == 1 and statements[0] is not None


@pytest.fixture
def no_aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No AWS credentials anywhere, and no instance metadata service to ask."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    # what the athena target reads, as `eval "$(lakehouse dbt-env)"` sets it for a plain dbt
    for name, value in dbt_env(Settings(home=tmp_path / "lakehouse")).items():
        monkeypatch.setenv(name, value)


def test_analyses_compile_for_athena_without_aws_and_parse(tmp_path, no_aws):
    # Analyses only name relations, so with the relation cache off dbt-athena never calls AWS.
    compiled = compile_for_athena(tmp_path, "path:analyses", "--no-populate-cache")
    for name in analysis_names():
        sql = (compiled / "analyses" / f"{name}.sql").read_text()
        assert '"awsdatacatalog"."gold".' in sql, name
        assert parses_as_athena(sql), name


def test_models_and_tests_compile_for_athena_and_parse(tmp_path, no_aws, monkeypatch):
    # Models ask the catalog whether they exist (is_incremental), so a mocked Glue answers.
    from moto import mock_aws

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    with mock_aws():
        compiled = compile_for_athena(tmp_path, "path:models path:tests")
    files = sorted(compiled.rglob("*.sql"))
    assert {f.stem for f in files} >= {*MARTS, "assert_no_negative_totals"}
    assert len(files) > 60
    for path in files:
        assert parses_as_athena(path.read_text()), path


STREAM_MARTS = ["agg_sensor_readings_hourly", "agg_api_latency_minutely", "agg_product_mentions_daily",
                "agg_funnel_daily", "agg_account_daily"]


def test_the_streams_marts_compile_for_athena_without_aws_and_parse(tmp_path, no_aws):
    # Tables on Athena (no incremental look-up), so they too compile with the relation cache off.
    compiled = compile_for_athena(tmp_path, " ".join(STREAM_MARTS), "--no-populate-cache")
    for path in (compiled / "models" / "marts").rglob("*.sql"):
        if path.stem in STREAM_MARTS:
            sql = path.read_text()
            assert parses_as_athena(sql), path.stem
            assert "percentile_approx" not in sql, path.stem  # Spark's name, not Trino's
    latency = next((compiled / "models" / "marts").rglob("agg_api_latency_minutely.sql")).read_text()
    assert "approx_percentile(latency_ms, 0.95)" in latency
    assert len(list((compiled / "models" / "marts").rglob("agg_*.sql"))) == len(STREAM_MARTS)


SERVING_VIEWS = {path.stem for path in (DBT_PROJECT_DIR / "models" / "serving").glob("*.sql")}


def test_the_serving_views_compile_for_athena_without_aws_and_parse(tmp_path, no_aws):
    compiled = compile_for_athena(tmp_path, "path:models/serving", "--no-populate-cache")
    found = {path.stem: path.read_text() for path in (compiled / "models" / "serving").glob("*.sql")}
    assert set(found) == SERVING_VIEWS and len(found) == 5
    for name, sql in found.items():
        assert parses_as_athena(sql), name
        assert "percentile_approx" not in sql, name  # Spark's name, not Trino's
        # the batch view is the mart in gold; the speed view reads silver
        assert f"gold.agg_{name}" in sql.replace('"', "").replace("awsdatacatalog.", ""), name
        assert "silver." in sql.replace('"', "").replace("awsdatacatalog.", ""), name
