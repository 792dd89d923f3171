from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd

from ml.anomalies import FEATURES, build_features, fit_and_score, model_version


def purchases(n: int = 400, spike_at: int | None = None) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    frame = pd.DataFrame({
        "event_id": [f"e{i}" for i in range(n)],
        "event_time": [start + timedelta(minutes=7 * i) for i in range(n)],
        "customer_id": [f"c{i % 20}" for i in range(n)],
        "product_id": [f"p{i % 10}" for i in range(n)],
        "quantity": rng.integers(1, 3, n),
        "unit_price": [10.0 + (i % 10) for i in range(n)],
    })
    if spike_at is not None:
        frame.loc[spike_at, "unit_price"] *= 15
    frame["total_amount"] = frame["quantity"] * frame["unit_price"]
    return frame


def test_features_have_the_declared_columns_and_no_gaps():
    features = build_features(purchases())
    assert list(features.columns) == FEATURES
    assert not features.isna().any().any()


def test_price_ratio_is_one_for_usual_prices_and_large_for_a_spike():
    features = build_features(purchases(spike_at=5))
    assert features.loc[5, "price_ratio"] > 10
    assert np.allclose(features.drop(index=5)["price_ratio"], 1.0)


def test_a_spike_scores_highest():
    _, scores, flagged = fit_and_score(build_features(purchases(spike_at=123)))
    assert int(np.argmax(scores)) == 123
    assert flagged[123]


def test_model_version_names_its_inputs():
    assert model_version(1, 10) == model_version(1, 10)
    assert model_version(1, 10) != model_version(2, 10)
