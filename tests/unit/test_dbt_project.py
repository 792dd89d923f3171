"""The dbt project's shape, read from its files (no dbt run, no JVM)."""

from pathlib import Path

import yaml

from lakehouse import contract
from lakehouse.settings import DBT_PROJECT_DIR
from ops.analyses import analysis_names

MODELS = DBT_PROJECT_DIR / "models"
SEEDS = DBT_PROJECT_DIR / "seeds"
ANALYSES = {"revenue_by_category", "top_customers", "premium_share_by_city", "hourly_sales_trend",
            "inventory_pressure", "anomaly_rate"}


def _ymls(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.yml") if not p.name.startswith("__"))


def test_every_model_and_seed_has_a_yml_of_the_same_name_beside_it():
    for folder, suffix in ((MODELS, "*.sql"), (SEEDS, "*.csv")):
        nodes = {p.with_suffix("") for p in folder.rglob(suffix)}
        assert nodes == {p.with_suffix("") for p in _ymls(folder)}


def test_accepted_values_match_the_contract_enums():
    checked = 0
    for path in _ymls(MODELS) + _ymls(SEEDS):
        # a stream's gold lives in models/marts/<stream>/; the rest is purchases'
        stream = path.parent.name if path.parent.name in contract.stream_names() else contract.PURCHASES
        enums = {spec.name: set(spec.enum) for spec in contract.contract(stream).fields if spec.enum}
        doc = yaml.safe_load(path.read_text())
        for node in doc.get("models", []) + doc.get("seeds", []):
            for column in node.get("columns", []):
                for test in column.get("data_tests", []):
                    if isinstance(test, dict) and "accepted_values" in test:
                        values = test["accepted_values"]["arguments"]["values"]
                        assert set(values) == enums[column["name"]], (path.name, column["name"])
                        checked += 1
    assert checked >= 4


def test_the_analyses_are_there():
    assert set(analysis_names()) == ANALYSES


def test_the_sensor_normal_ranges_are_the_ones_the_producer_draws_from():
    from producer.streams import METRICS

    rows = (SEEDS / "sensor_normal_ranges.csv").read_text().splitlines()[1:]
    seeded = {metric: (unit, float(low), float(high))
              for metric, unit, low, high in (row.split(",") for row in rows)}
    assert seeded == METRICS
    assert set(seeded) == set(contract.contract("iot_sensors").field("metric").enum)


def test_every_stream_has_a_staging_model_and_a_gold_folder():
    for stream in contract.stream_names():
        assert (MODELS / "staging" / f"stg_{stream}.sql").exists(), stream
        if stream != contract.PURCHASES:
            assert list((MODELS / "marts" / stream).glob("*.sql")), stream
