"""Isolation Forest over gold purchases -> Iceberg `gold.purchase_anomalies`.

Reads gold.fct_purchases with pyiceberg, builds features (pure), fits the model, scores every
purchase and replaces the anomalies table in one atomic commit, so a rerun gives the same
table. The fitted model is saved under the models folder, named by its version."""

from __future__ import annotations

import hashlib
import json
import time
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime

import joblib
import numpy as np
import pandas as pd
import pyarrow as pa
from pyiceberg.catalog import Catalog
from sklearn.ensemble import IsolationForest

from lakehouse.catalog import iceberg_catalog
from lakehouse.logs import get_logger
from lakehouse.settings import ANOMALIES_TABLE, GOLD_FACT_TABLE, GOLD_NAMESPACE, Settings

log = get_logger("ml")

FEATURES = ["log_amount", "quantity", "price_ratio", "amount_vs_customer", "hour_of_day"]
CONTAMINATION = 0.01
N_ESTIMATORS = 200
SEED = 7
PURCHASE_COLUMNS = ["event_id", "event_time", "customer_id", "product_id", "quantity",
                    "unit_price", "total_amount"]

ANOMALIES_SCHEMA = pa.schema([
    pa.field("event_id", pa.string(), nullable=False),
    pa.field("anomaly_score", pa.float64(), nullable=False),
    pa.field("is_anomaly", pa.bool_(), nullable=False),
    pa.field("model_version", pa.string(), nullable=False),
    pa.field("scored_at", pa.timestamp("us", tz="UTC"), nullable=False),
])


def build_features(purchases: pd.DataFrame) -> pd.DataFrame:
    """Per-purchase features. Pure: a DataFrame with PURCHASE_COLUMNS in, FEATURES out."""
    amount = purchases["total_amount"].astype(float)
    unit_price = purchases["unit_price"].astype(float)
    product_median = unit_price.groupby(purchases["product_id"]).transform("median")
    customer_median = amount.groupby(purchases["customer_id"]).transform("median")
    return pd.DataFrame(
        {
            "log_amount": np.log1p(amount),
            "quantity": purchases["quantity"].astype(float),
            "price_ratio": unit_price / product_median,
            "amount_vs_customer": np.log1p(amount) - np.log1p(customer_median),
            "hour_of_day": pd.to_datetime(purchases["event_time"], utc=True).dt.hour.astype(float),
        },
        index=purchases.index,
    )[FEATURES]


def model_version(snapshot_id: int | None, rows: int) -> str:
    spec = json.dumps({"features": FEATURES, "contamination": CONTAMINATION,
                       "n_estimators": N_ESTIMATORS, "seed": SEED,
                       "snapshot": snapshot_id, "rows": rows}, sort_keys=True)
    return "iforest-" + hashlib.sha256(spec.encode()).hexdigest()[:12]


def fit_and_score(features: pd.DataFrame) -> tuple[IsolationForest, np.ndarray, np.ndarray]:
    """Fit on all purchases (no labels); higher score = more anomalous."""
    model = IsolationForest(n_estimators=N_ESTIMATORS, contamination=CONTAMINATION,
                            random_state=SEED)
    model.fit(features.to_numpy())
    scores = -model.score_samples(features.to_numpy())
    flagged = model.predict(features.to_numpy()) == -1
    return model, scores, flagged


@dataclass
class ScoringSummary:
    purchases: int
    flagged: int
    model_version: str
    seconds: float


def load_purchases(catalog: Catalog) -> tuple[pd.DataFrame, int | None]:
    table = catalog.load_table(GOLD_FACT_TABLE)
    snapshot = table.current_snapshot()
    frame = table.scan(selected_fields=tuple(PURCHASE_COLUMNS)).to_pandas()
    return frame, snapshot.snapshot_id if snapshot else None


def write_anomalies(catalog: Catalog, rows: pa.Table) -> None:
    catalog.create_namespace_if_not_exists(GOLD_NAMESPACE)
    table = catalog.create_table_if_not_exists(ANOMALIES_TABLE, schema=ANOMALIES_SCHEMA)
    with warnings.catch_warnings():  # the first overwrite of an empty table has nothing to delete
        warnings.filterwarnings("ignore", message="Delete operation did not match any records")
        table.overwrite(rows)


def run(settings: Settings) -> ScoringSummary:
    started = time.monotonic()
    catalog = iceberg_catalog(settings)
    purchases, snapshot_id = load_purchases(catalog)
    if purchases.empty:
        raise ValueError(f"{GOLD_FACT_TABLE} is empty: run the pipeline up to dbt first")
    features = build_features(purchases)
    model, scores, flagged = fit_and_score(features)
    version = model_version(snapshot_id, len(purchases))
    settings.models_dir.mkdir(parents=True, exist_ok=True)
    joblib.dump({"model": model, "features": FEATURES, "snapshot_id": snapshot_id},
                settings.models_dir / f"{version}.joblib")
    scored_at = datetime.now(UTC)
    rows = pa.table(
        {
            "event_id": purchases["event_id"].astype(str).to_numpy(),
            "anomaly_score": scores.astype(float),
            "is_anomaly": flagged,
            "model_version": [version] * len(purchases),
            "scored_at": [scored_at] * len(purchases),
        },
        schema=ANOMALIES_SCHEMA,
    )
    write_anomalies(catalog, rows)
    summary = ScoringSummary(len(purchases), int(flagged.sum()), version,
                             round(time.monotonic() - started, 2))
    log.info("scored", **summary.__dict__)
    return summary
