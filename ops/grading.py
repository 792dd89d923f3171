"""Grading the detector on the producer's generated events: two stages meet here, not in
each other's imports.

Gold-like purchases straight from the generator, with their ground truth: what silver and dbt
would make of the generated messages, without Kafka or Spark (the contract-valid purchases,
first copy of each event_id, typed like gold.fct_purchases, no PII). For grading the detector
on many seeds and shares in seconds."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from decimal import Decimal
from functools import cache

import pandas as pd
import yaml

from lakehouse.contract import MONEY_SCALE
from lakehouse.settings import DBT_PROJECT_DIR
from ml.evaluation import Evaluation, fit_and_evaluate
from ml.model import ModelParams
from producer.events import GeneratorOptions, anomaly_labels, generate

CENT = Decimal(1).scaleb(-MONEY_SCALE)  # money's scale in gold
# Generated data for evaluation ends at a fixed time, so a seed gives the same figures any day.
EVALUATION_END = datetime(2026, 1, 5, tzinfo=UTC)
# The bar is met on the default generator settings for each of these seeds and anomaly shares.
BAR_SEEDS = (42, 7, 2026)
BAR_SHARES = (0.005, 0.01, 0.02)
FACT_DOCS = DBT_PROJECT_DIR / "models" / "marts" / "fct_purchases.yml"


@cache
def gold_columns() -> tuple[str, ...]:
    """gold.fct_purchases' columns in their order, as its dbt docs list them."""
    models = yaml.safe_load(FACT_DOCS.read_text())["models"]
    fact = next(model for model in models if model["name"] == "fct_purchases")
    return tuple(column["name"] for column in fact["columns"])


def generated_purchases(options: GeneratorOptions) -> tuple[pd.DataFrame, dict[str, str]]:
    """(purchases like gold.fct_purchases, ground truth event_id -> pattern)."""
    rows: dict[str, dict] = {}
    messages = list(generate(options))
    for message in messages:
        # Malformed messages would go to quarantine and duplicates be dropped. Valid and
        # anomalous ones pass the contract by construction (tests/unit/test_producer_events.py).
        if message.kind in ("valid", "anomaly") and message.event_id not in rows:
            rows[message.event_id] = json.loads(message.value)
    frame = pd.DataFrame(list(rows.values()))
    frame["event_time"] = pd.to_datetime(frame["event_time"], utc=True, format="ISO8601")
    frame["event_date"] = frame["event_time"].dt.date
    frame["customer_email_hash"] = [hashlib.sha256(e.encode()).hexdigest()
                                    for e in frame["customer_email"]]
    for money in ("unit_price", "total_amount"):
        frame[money] = [Decimal(str(v)).quantize(CENT) for v in frame[money]]
    return frame[[c for c in gold_columns() if c in frame.columns]], anomaly_labels(messages)


def evaluation_options(seed: int = 42, anomaly_share: float = 0.01, count: int = 10_000
                       ) -> GeneratorOptions:
    """The default generator settings (but the seed and share asked for), ending at EVALUATION_END."""
    return GeneratorOptions(count=count, seed=seed, anomaly_share=anomaly_share,
                            end_time=EVALUATION_END)


def evaluate_generated(options: GeneratorOptions, params: ModelParams | None = None) -> Evaluation:
    """Generate purchases, fit a model on them and grade it: no Kafka, Spark or Iceberg."""
    purchases, truth = generated_purchases(options)
    return fit_and_evaluate(purchases, truth, params)
