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
    enums = {spec.name: set(spec.enum) for spec in contract.fields() if spec.enum}
    checked = 0
    for path in _ymls(MODELS) + _ymls(SEEDS):
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
