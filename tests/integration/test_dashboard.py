"""The dashboard (dashboard/) for real: every page rendered by Streamlit's AppTest on a fresh
home and on the demo's tables, then the app served by `lakehouse dashboard up` and loaded page
by page in headless Chromium (Debian's package), its KPIs checked against gold read
independently through pyiceberg."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterator
from decimal import ROUND_HALF_UP, Decimal
from urllib.parse import urlparse

import pyarrow.compute as pc
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from lakehouse.catalog import iceberg_catalog
from lakehouse.settings import ANOMALIES_TABLE, GOLD_FACT_TABLE, PROJECT_ROOT, SILVER_TABLE, Settings
from ops.browser import DASHBOARD_PAGES
from tests.conftest import run_cli

pytestmark = pytest.mark.integration

APP = str(PROJECT_ROOT / "dashboard" / "app.py")
PAGES = [f"pages/{page}.py" for page in DASHBOARD_PAGES]


@pytest.fixture(scope="module")
def demo_settings(tmp_path_factory: pytest.TempPathFactory, kafka_bootstrap: str) -> Settings:
    """A home the demo filled: produce, bronze, silver, dbt build, ml."""
    settings = Settings(home=tmp_path_factory.mktemp("dashboard") / "lakehouse",
                        kafka_bootstrap=kafka_bootstrap, topic_prefix="dashboard_")
    run_cli(settings, "-m", "ops", "demo", "--events", "3000", "--seed", "23", "--no-progress",
            timeout=1200)
    # every stream's silver older than a one-second freshness limit: an alert for each
    time.sleep(2)
    run_cli(settings.model_copy(update={"alert_freshness_limit_seconds": 1.0}), "-m", "serving", "alerts")
    return settings


def open_alerts(settings: Settings) -> int:
    alerts = iceberg_catalog(settings).load_table("serving.alerts").scan(
        selected_fields=("status",)).to_arrow()
    return alerts["status"].to_pylist().count("open")


def app_for(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    """An AppTest of the dashboard reading `settings`, with Streamlit's caches emptied (they
    live per process, and each test has a home of its own)."""
    for name, value in settings.environment().items():
        monkeypatch.setenv(name, value)
    st.cache_resource.clear()
    st.cache_data.clear()
    return AppTest.from_file(APP, default_timeout=120)


def render(at: AppTest, page: str) -> AppTest:
    at.switch_page(page)
    at.run()
    assert not at.exception, f"{page}: {[e.value for e in at.exception]}"
    return at


def gold_kpis(settings: Settings) -> dict[str, str]:
    """Revenue, orders and average order value per currency, computed from gold's rows."""
    gold = iceberg_catalog(settings).load_table(GOLD_FACT_TABLE).scan(
        selected_fields=("currency", "total_amount")).to_arrow()
    shown = {}
    for currency in pc.unique(gold["currency"]).to_pylist():
        amounts = gold.filter(pc.equal(gold["currency"], currency))["total_amount"].to_pylist()
        revenue = sum(amounts, Decimal(0))
        shown[f"Revenue ({currency})"] = f"{revenue:,.2f}"
        shown[f"Orders ({currency})"] = f"{len(amounts):,}"
        average = (revenue / len(amounts)).quantize(Decimal("0.01"), ROUND_HALF_UP)
        shown[f"Average order value ({currency})"] = f"{average:,.2f}"
    return shown


def test_every_page_renders_on_a_fresh_home_and_says_to_run_the_demo(settings, monkeypatch):
    at = app_for(settings, monkeypatch)
    for page in PAGES:
        render(at, page)
        shown = " ".join(info.value for info in at.info)
        assert "no data yet: run `make demo`" in shown, (page, shown)
        assert not at.error, (page, [e.value for e in at.error])


def test_every_page_renders_the_demo_data(demo_settings, monkeypatch):
    at = app_for(demo_settings, monkeypatch)
    rendered = {}
    for page in PAGES:
        render(at, page)
        assert not at.error, (page, [e.value for e in at.error])
        rendered[page] = {metric.label: metric.value for metric in at.metric}
    assert {label: rendered["pages/sales.py"][label] for label in gold_kpis(demo_settings)} == \
        gold_kpis(demo_settings)
    health = rendered["pages/health.py"]
    silver = len(iceberg_catalog(demo_settings).load_table(SILVER_TABLE).scan(
        selected_fields=("event_id",)).to_arrow())
    assert health["silver.purchases"] == health["gold.fct_purchases"] == f"{silver:,}"
    assert health["Batches whose books do not balance"] == "0"
    assert int(rendered["pages/anomalies.py"]["Flagged"]) > 0
    # the other streams' pages, against their silver tables read on their own
    catalog = iceberg_catalog(demo_settings)

    def silver_of(stream: str, *columns: str) -> list[dict]:
        return catalog.load_table(f"silver.{stream}").scan(selected_fields=columns).to_arrow().to_pylist()

    operations = rendered["pages/operations.py"]
    assert operations["Sensor readings"] == f"{len(silver_of('iot_sensors', 'event_id')):,}"
    assert operations["API requests"] == f"{len(silver_of('api_logs', 'event_id')):,}"
    clicks = silver_of("clickstream", "session_id", "category")
    sessions = {row["session_id"] for row in clicks if row["category"]}
    assert rendered["pages/engagement.py"]["Sessions"] == f"{len(sessions):,}"
    purchases = {row["event_id"] for row in silver_of("purchases", "event_id")}
    paid = sum(row["purchase_id"] in purchases for row in silver_of("financial_transactions", "purchase_id"))
    assert rendered["pages/payments.py"]["Payments for purchases"] == f"{paid:,}" and paid > 0
    assert rendered["pages/alerts.py"]["Open alerts"] == f"{open_alerts(demo_settings):,}"
    assert open_alerts(demo_settings) >= 6  # silver_freshness, one per stream


def test_a_table_that_cannot_be_read_is_named_with_the_reason(demo_settings, monkeypatch, tmp_path):
    """Gold's metadata file gone: the pages that read gold say which table and why."""
    table = iceberg_catalog(demo_settings).load_table(GOLD_FACT_TABLE)
    metadata = urlparse(table.metadata_location).path  # file:/… or file:///…
    moved = tmp_path / "metadata.json"
    os.rename(metadata, moved)
    try:
        at = render(app_for(demo_settings, monkeypatch), "pages/sales.py")
        errors = [e.value for e in at.error]
        assert any("gold.fct_purchases cannot be read" in e for e in errors), errors
    finally:
        os.rename(moved, metadata)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def served(demo_settings: Settings) -> Iterator[Settings]:
    settings = demo_settings.model_copy(update={"dashboard_port": free_port()})
    run_cli(settings, "-m", "ops", "dashboard", "up", timeout=120)
    try:
        yield settings
    finally:
        run_cli(settings, "-m", "ops", "dashboard", "down")


def test_in_chromium_every_page_loads_and_the_kpis_equal_gold(served):
    from ops.browser import dashboard_pages
    from ops.dashboard_server import url

    captures = {c.page: c for c in dashboard_pages(url(served), served.reports_dir / "dashboard")}
    assert set(captures) == set(DASHBOARD_PAGES)
    for capture in captures.values():
        assert capture.exceptions == [], (capture.page, capture.exceptions)
        assert capture.screenshot.stat().st_size > 10_000
        assert "no data yet" not in capture.text
    expected = gold_kpis(served)
    assert {label: captures["sales"].metrics.get(label) for label in expected} == expected
    assert "Products above their usual pace" in captures["products"].metrics
    anomalies = iceberg_catalog(served).load_table(ANOMALIES_TABLE).scan(
        selected_fields=("is_anomaly",)).to_arrow()
    assert captures["anomalies"].metrics["Flagged"] == f"{pc.sum(anomalies['is_anomaly']).as_py():,}"
    assert captures["health"].metrics["Batches whose books do not balance"] == "0"
    assert captures["alerts"].metrics["Open alerts"] == f"{open_alerts(served):,}"
    assert "silver_freshness" in captures["alerts"].text
