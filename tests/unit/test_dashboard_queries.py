"""The dashboard's queries (dashboard/queries.py): each defined once for DuckDB, rendered for
Athena (Trino) by sqlglot, run here in an embedded DuckDB over small Arrow tables."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pyarrow as pa
import pyarrow.compute  # noqa: F401 - pa.compute
import pytest
import sqlglot
import yaml

from dashboard import queries
from dashboard.sources import run_in_duckdb
from lakehouse.contract import contracts
from lakehouse.settings import DBT_PROJECT_DIR, Settings
from serving.alerts import ALERTS_TABLE

GOLD_MODELS = {path.stem for path in (DBT_PROJECT_DIR / "models" / "marts").rglob("*.sql")}
KNOWN_TABLES = {f"gold.{model}" for model in GOLD_MODELS} | {
    "gold.purchase_anomalies", "silver.purchases$snapshots", ALERTS_TABLE,
    *(table for stream in contracts().values() for table in stream.tables)}


@pytest.mark.parametrize("name", sorted(queries.QUERIES))
def test_each_query_renders_for_athena_and_reads_only_lakehouse_tables(name):
    athena = queries.render(name, queries.ATHENA_DIALECT)
    assert sqlglot.parse_one(athena, read="trino").find(sqlglot.exp.Select)
    assert set(queries.tables_of(name)) <= KNOWN_TABLES
    assert queries.tables_of(name)


def test_athena_renderings_use_trino_forms():
    pressure = queries.render("products_under_pressure", queries.ATHENA_DIALECT)
    assert "INTERVAL '1' DAY" in pressure and "INTERVAL '8' DAY" in pressure
    # integer division would truncate in Trino: the rendering casts to double
    assert "CAST(units_last_24h AS DOUBLE)" in pressure
    assert 'silver."purchases$snapshots"' in queries.render("silver_freshness", queries.ATHENA_DIALECT)


ROUND_TRIPPED = ["sales_kpis", "products_under_pressure", "flagged_purchases",
                 "anomaly_share_by_day", "books_per_batch"]


@pytest.mark.parametrize("name", ROUND_TRIPPED)
def test_the_athena_rendering_gives_the_same_rows(name, monkeypatch):
    """What Athena is sent, read back into DuckDB, returns what the DuckDB text returns."""
    expected = run(name)
    athena = queries.render(name, queries.ATHENA_DIALECT)
    monkeypatch.setitem(queries.QUERIES, name, sqlglot.transpile(athena, read="trino", write="duckdb")[0])
    queries.render.cache_clear()
    try:
        assert run(name).to_dict("records") == expected.to_dict("records")
    finally:
        queries.render.cache_clear()


def test_an_unknown_query_names_the_known_ones():
    with pytest.raises(KeyError, match="sales_kpis"):
        queries.sql("revenue")


def purchase(event_id: str, hours_ago: float, product: str, quantity: int, amount: str,
             currency: str = "EUR", is_member: bool = True) -> dict:
    newest = datetime(2026, 12, 1, 12, tzinfo=UTC)
    at = newest - timedelta(hours=hours_ago)
    return {"event_id": event_id, "event_time": at, "event_date": at.date(), "product_id": product,
            "product_name": f"name {product}", "category": "books", "quantity": quantity,
            "total_amount": Decimal(amount), "currency": currency, "is_member": is_member,
            "customer_id": "c1", "city": "Lyon", "country": "FR", "payment_method": "card"}


PURCHASES = pa.Table.from_pylist([
    purchase("e1", 0, "p1", 3, "30.00"),
    purchase("e2", 30, "p1", 1, "10.00"),          # prior week: 1 unit in 7 days
    purchase("e3", 2, "p2", 1, "12.50", "GBP", False),
    purchase("e4", 48, "p2", 7, "87.50", "GBP", False),
    purchase("e5", 200, "p1", 9, "90.00"),         # older than 8 days: in no window
], schema=pa.schema([("event_id", pa.string()), ("event_time", pa.timestamp("us", "UTC")),
                     ("event_date", pa.date32()), ("product_id", pa.string()),
                     ("product_name", pa.string()), ("category", pa.string()),
                     ("quantity", pa.int32()), ("total_amount", pa.decimal128(12, 2)),
                     ("currency", pa.string()), ("is_member", pa.bool_()),
                     ("customer_id", pa.string()), ("city", pa.string()), ("country", pa.string()),
                     ("payment_method", pa.string())]))
ANOMALIES = pa.table({"event_id": ["e1", "e2", "e3", "e4"], "anomaly_score": [0.9, 0.1, 0.7, 0.2],
                      "is_anomaly": [True, False, True, False],
                      "top_features": ["quantity=3, amount=30", None, "hour=4", None]})
BATCHES = pa.table({"batch_id": [0, 1], "committed_at": [datetime(2026, 12, 1), datetime(2026, 12, 2)],
                    "input_rows": [10, 5], "silver_rows": [8, 4], "quarantined_rows": [1, 0],
                    "duplicates_dropped": [1, 0], "already_present": [0, 0]})
TABLES = {"gold.fct_purchases": PURCHASES, "gold.purchase_anomalies": ANOMALIES,
          "silver.purchases_batches": BATCHES}


def run(name: str):
    return run_in_duckdb(name, TABLES.__getitem__)


def test_sales_kpis_sum_revenue_and_orders_per_currency():
    kpis = run("sales_kpis").set_index("currency")
    assert kpis.loc["EUR", "revenue"] == pytest.approx(130.0)
    assert kpis.loc["EUR", "orders"] == 3
    assert kpis.loc["EUR", "average_order_value"] == pytest.approx(43.33)
    assert kpis.loc["GBP", "revenue"] == pytest.approx(100.0)
    assert list(kpis.index) == ["EUR", "GBP"]


def test_pressure_is_the_last_24_hours_against_the_daily_average_of_the_7_days_before():
    pressure = run("products_under_pressure").set_index("product_id")
    assert pressure.loc["p1", "units_last_24h"] == 3
    assert pressure.loc["p1", "daily_units_before"] == pytest.approx(round(1 / 7, 2))
    assert pressure.loc["p1", "pressure_ratio"] == pytest.approx(21.0)
    assert pressure.loc["p2", "pressure_ratio"] == pytest.approx(1.0)
    assert list(pressure.index) == ["p1", "p2"]


def test_with_fewer_than_8_days_of_data_the_usual_pace_is_over_the_days_there_are():
    two_days = PURCHASES.filter(pa.compute.not_equal(PURCHASES["event_id"], "e5"))  # 48 h of data
    pressure = run_in_duckdb("products_under_pressure",
                             {**TABLES, "gold.fct_purchases": two_days}.__getitem__).set_index("product_id")
    assert pressure.loc["p1", "daily_units_before"] == pytest.approx(1.0)  # 1 unit in 1 day
    assert pressure.loc["p1", "pressure_ratio"] == pytest.approx(3.0)
    assert pressure.loc["p2", "pressure_ratio"] == pytest.approx(0.14)


def test_flagged_purchases_carry_their_leading_feature_and_the_share_per_day():
    flagged = run("flagged_purchases")
    assert list(flagged["event_id"]) == ["e1", "e3"]
    assert list(flagged["leading_feature"]) == ["quantity", "hour"]
    share = run("anomaly_share_by_day")
    assert int(share["scored"].sum()) == 4 and int(share["flagged"].sum()) == 2


def test_books_show_what_does_not_balance():
    books = run("books_per_batch")
    assert list(books["batch_id"]) == [1, 0]
    assert list(books["unbalanced"]) == [1, 0]


def test_freshness_thresholds_default_to_dbts_silver_source_freshness():
    sources = yaml.safe_load((DBT_PROJECT_DIR / "models" / "staging" / "__sources.yml").read_text())
    silver = next(s for s in sources["sources"] if s["name"] == "silver")
    hours = {"hour": 1, "day": 24}
    purchases = next(t for t in silver["tables"] if t["name"] == "purchases")
    freshness = purchases["config"]["freshness"]
    as_hours = {k: v["count"] * hours[v["period"]] for k, v in freshness.items()}
    settings = Settings()
    assert (settings.freshness_warn_hours, settings.freshness_error_hours) == (
        as_hours["warn_after"], as_hours["error_after"])

