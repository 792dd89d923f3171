"""Training and incremental scoring against real Iceberg tables (pyiceberg, a SQLite catalog
in a temporary folder): no Spark, no broker."""

import random
from decimal import Decimal

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from lakehouse.catalog import iceberg_catalog
from lakehouse.ground_truth import read_ground_truth, write_ground_truth
from lakehouse.settings import ANOMALIES_TABLE, GOLD_FACT_TABLE, GOLD_NAMESPACE, Settings
from ml import registry
from ml.anomalies import ANOMALIES_SCHEMA, load_purchases, money_as_float, run, score, train
from ml.features import build_features
from ops.grading import evaluation_options, generated_purchases
from producer.events import anomaly_labels, generate

MONEY = pa.decimal128(12, 2)
GOLD_SCHEMA = pa.schema([
    ("event_id", pa.string()), ("event_time", pa.timestamp("us", tz="UTC")),
    ("event_date", pa.date32()), ("customer_id", pa.string()), ("customer_email_hash", pa.string()),
    ("city", pa.string()), ("country", pa.string()), ("product_id", pa.string()),
    ("product_name", pa.string()), ("category", pa.string()), ("quantity", pa.int32()),
    ("unit_price", MONEY), ("total_amount", MONEY), ("currency", pa.string()),
    ("payment_method", pa.string()), ("is_member", pa.bool_()), ("channel", pa.string()),
])
OPTIONS = evaluation_options(seed=11, anomaly_share=0.02, count=2400)


@pytest.fixture
def settings(tmp_path):
    settings = Settings(home=tmp_path / "lakehouse", topic="purchases")
    write_ground_truth(settings.ground_truth_path, anomaly_labels(generate(OPTIONS)))
    return settings


@pytest.fixture(scope="module")
def purchases():
    frame, _ = generated_purchases(OPTIONS)
    return frame.sort_values("event_time").reset_index(drop=True)


def append_gold(settings, rows):
    """Append purchases to gold.fct_purchases as dbt would leave them (created on first use)."""
    catalog = iceberg_catalog(settings)
    catalog.create_namespace_if_not_exists(GOLD_NAMESPACE)
    table = catalog.create_table_if_not_exists(GOLD_FACT_TABLE, schema=GOLD_SCHEMA)
    table.append(pa.Table.from_pandas(rows, schema=GOLD_SCHEMA, preserve_index=False))
    return table.refresh().current_snapshot().snapshot_id


def anomalies(settings):
    return iceberg_catalog(settings).load_table(ANOMALIES_TABLE)


def test_scoring_is_incremental_and_a_rerun_adds_nothing(settings, purchases):
    first, later = purchases.iloc[:2000], purchases.iloc[2000:]
    append_gold(settings, first)

    summary = run(settings)  # no model yet: trains, then scores
    assert summary.trained and summary.scored == summary.purchases == len(first)
    table = anomalies(settings)
    rows = table.scan().to_arrow()
    assert rows.schema.names == ANOMALIES_SCHEMA.names
    assert sorted(rows["event_id"].to_pylist()) == sorted(first["event_id"])
    assert set(rows["model_version"].to_pylist()) == {summary.model_version}
    assert pc.sum(rows["is_anomaly"]).as_py() == summary.flagged > 0
    explained = list(zip(rows["is_anomaly"].to_pylist(), rows["top_features"].to_pylist(),
                         strict=True))
    assert all(why.count("=") == 3 for flagged, why in explained if flagged)
    assert all(why is None for flagged, why in explained if not flagged)
    snapshots = len(table.refresh().snapshots())

    again = run(settings)  # the same gold: nothing new
    assert not again.trained and again.scored == again.flagged == 0
    assert len(table.refresh().snapshots()) == snapshots
    assert table.scan().to_arrow().num_rows == len(first)

    append_gold(settings, later)
    more = score(settings)
    assert more.scored == len(later) and more.purchases == len(purchases)
    after = table.refresh().scan().to_arrow()
    assert sorted(after["event_id"].to_pylist()) == sorted(purchases["event_id"])
    unchanged = after.filter(pc.is_in(after["event_id"], rows["event_id"])).sort_by("event_id")
    assert unchanged.equals(rows.sort_by("event_id"))  # earlier scores, explanations, times kept
    assert score(settings).scored == 0


def test_training_registers_the_snapshot_it_read_and_grades_the_model(settings, purchases):
    snapshot_id = append_gold(settings, purchases)
    summary = train(settings)
    assert summary.snapshot_id == snapshot_id and summary.purchases == len(purchases)
    card = registry.load(settings.models_dir)
    assert card.version == summary.model_version == registry.current_version(settings.models_dir)
    assert card.training == {"table": GOLD_FACT_TABLE, "snapshot_id": snapshot_id,
                             "rows": len(purchases)}
    assert card.metrics["model"]["auprc"] > card.metrics["baseline"]["auprc"]
    assert set(card.metrics["model"]["recall_per_pattern"]) >= {"burst", "geo_jump"}

    scored = score(settings)
    assert set(anomalies(settings).scan().to_arrow()["model_version"].to_pylist()) == {card.version}
    assert scored.model_version == card.version


def test_rescoring_replaces_every_row(settings, purchases):
    append_gold(settings, purchases)
    run(settings)
    table = anomalies(settings)
    before = table.refresh().scan().to_arrow()
    rescored = score(settings, rescore=True)
    assert rescored.scored == len(purchases)
    after = table.refresh().scan().to_arrow()
    assert after.num_rows == len(purchases)
    assert sorted(after["event_id"].to_pylist()) == sorted(before["event_id"].to_pylist())
    assert min(after["scored_at"].to_pylist()) > max(before["scored_at"].to_pylist())


def test_a_table_from_the_first_version_of_the_job_gains_the_new_column(settings, purchases):
    append_gold(settings, purchases.iloc[:500])
    catalog = iceberg_catalog(settings)
    legacy = pa.schema([f for f in ANOMALIES_SCHEMA if f.name != "top_features"])
    catalog.create_table(ANOMALIES_TABLE, schema=legacy)
    run(settings)
    rows = anomalies(settings).scan().to_arrow()
    assert rows.num_rows == 500 and "top_features" in rows.schema.names


def test_scoring_without_a_model_says_what_to_do(settings, purchases):
    append_gold(settings, purchases.iloc[:100])
    with pytest.raises(FileNotFoundError, match="python -m ml train"):
        score(settings)


def test_a_table_that_required_top_features_takes_purchases_not_flagged(settings, purchases):
    append_gold(settings, purchases.iloc[:500])
    catalog = iceberg_catalog(settings)
    catalog.create_namespace_if_not_exists(GOLD_NAMESPACE)
    required = pa.schema([f.with_nullable(False) if f.name == "top_features" else f
                          for f in ANOMALIES_SCHEMA])  # as the previous version created it
    assert not required.field("top_features").nullable
    catalog.create_table(ANOMALIES_TABLE, schema=required)
    summary = run(settings)
    rows = anomalies(settings).scan().to_arrow()
    assert rows.num_rows == 500 and 0 < summary.flagged < 500
    assert rows["top_features"].null_count == 500 - summary.flagged


def test_money_as_float_gives_the_doubles_float_of_each_decimal_gives():
    rng = random.Random(5)
    amounts = [Decimal(rng.randrange(-10**12 + 1, 10**12)).scaleb(-2) for _ in range(200_000)]
    amounts += [Decimal("0.00"), Decimal("0.01"), Decimal("-0.01"), Decimal("9999999999.99"),
                Decimal("0.10"), Decimal("0.30"), Decimal("2.67")]
    floats = money_as_float(pa.array(amounts + [None], MONEY)).to_pylist()
    assert floats[:-1] == [float(a) for a in amounts]  # exactly, bit for bit
    assert floats[-1] is None


def test_features_from_gold_are_those_of_the_purchases_written(settings, purchases):
    append_gold(settings, purchases)
    loaded, _ = load_purchases(iceberg_catalog(settings))
    loaded = loaded.set_index("event_id").loc[purchases["event_id"]].reset_index()
    assert loaded["total_amount"].tolist() == [float(a) for a in purchases["total_amount"]]
    pd.testing.assert_frame_equal(build_features(loaded),
                                  build_features(purchases.reset_index(drop=True)),
                                  check_exact=True)


def test_the_ground_truth_file_refuses_a_pattern_the_contract_does_not_name(tmp_path):
    path = tmp_path / "truth.csv"
    write_ground_truth(path, {"e1": "burst"})
    with pytest.raises(ValueError, match="unknown anomaly patterns \\['typo'\\]"):
        write_ground_truth(path, {"e2": "typo"})
    assert read_ground_truth(path) == {"e1": "burst"}
