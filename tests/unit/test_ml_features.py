from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from ml.features import FEATURES, PURCHASE_COLUMNS, build_features, circular_hour_distance, past_counts
from ml.model import MODEL_FEATURES, ModelParams, fit

START = datetime(2026, 1, 5, tzinfo=UTC)  # a Monday


def purchase(event_id, when, customer="c1", amount=20.0, country="US", category="books",
             payment="credit_card", quantity=1):
    return {"event_id": event_id, "event_time": when, "customer_id": customer, "country": country,
            "category": category, "quantity": quantity, "total_amount": amount,
            "payment_method": payment}


def frame(rows):
    return pd.DataFrame(rows, columns=PURCHASE_COLUMNS)


def daily(customer, days, hour=20, amount=20.0, **kw):
    """One purchase a day at `hour`, for `days` days."""
    return [purchase(f"{customer}-{d}", START + timedelta(days=d, hours=hour), customer, amount, **kw)
            for d in range(days)]


def test_one_row_of_every_feature_per_purchase_in_the_input_order():
    rows = daily("a", 5) + daily("b", 5, hour=9)
    shuffled = frame(rows).sample(frac=1, random_state=1)
    features = build_features(shuffled)
    assert list(features.columns) == FEATURES
    assert features.index.equals(shuffled.index)
    assert not features.isna().any().any()


def test_no_purchases_no_features():
    features = build_features(frame([]))
    assert features.empty and list(features.columns) == FEATURES


def test_basic_features():
    features = build_features(frame([purchase("e1", START + timedelta(hours=13, minutes=30),
                                              amount=99.0, quantity=3)]))
    row = features.iloc[0]
    assert row["amount"] == 99.0
    assert row["log_amount"] == pytest.approx(np.log1p(99.0))
    assert row["quantity"] == 3
    assert row["hour_of_day"] == 13
    assert row["day_of_week"] == 0


def test_recent_purchases_are_counted_per_customer_and_only_before():
    offsets = [timedelta(0), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2),
               timedelta(hours=25)]
    rows = [purchase(f"e{i}", START + o) for i, o in enumerate(offsets)]
    rows.append(purchase("other", START + timedelta(minutes=6), customer="c2"))
    features = build_features(frame(rows)).set_index(frame(rows)["event_id"])
    assert features["purchases_last_10_minutes"].tolist() == [0, 1, 0, 0, 0, 0]
    assert features["purchases_last_hour"].tolist() == [0, 1, 2, 0, 0, 0]
    assert features["purchases_last_day"].tolist() == [0, 1, 2, 3, 1, 0]


def test_past_counts_keep_customers_apart():
    customer = pd.Series(["a", "a", "b", "b"])
    seconds = pd.Series([0.0, 30.0, 40.0, 50.0])
    assert past_counts(customer, seconds, 60).tolist() == [0, 1, 0, 1]


def test_hour_deviation_compares_with_the_customers_usual_hour_around_the_clock():
    rows = daily("night", 6, hour=23) + [
        purchase("night-early", START + timedelta(days=7, hours=1), customer="night"),
        purchase("night-noon", START + timedelta(days=8, hours=11), customer="night"),
    ]
    features = build_features(frame(rows)).set_index(frame(rows)["event_id"])
    assert features.loc["night-0", "hour_deviation"] == 0  # no history yet
    assert features.loc["night-5", "hour_deviation"] == pytest.approx(0, abs=1e-6)
    assert features.loc["night-early", "hour_deviation"] == pytest.approx(2, abs=1e-6)
    assert features.loc["night-noon", "hour_deviation"] > 10


def test_circular_hour_distance():
    assert circular_hour_distance(np.array([23.0, 1.0, 6.0]), np.array([1.0, 23.0, 18.0])).tolist() == [
        2.0, 2.0, 12.0]


def test_country_mismatch_is_against_where_most_past_purchases_came_from():
    rows = daily("a", 4, country="US") + [
        purchase("abroad", START + timedelta(days=4, hours=21), customer="a", country="DE")]
    rows.insert(0, purchase("first", START - timedelta(days=1), customer="a", country="FR"))
    features = build_features(frame(rows)).set_index(frame(rows)["event_id"])
    assert features.loc["first", "country_mismatch"] == 0  # no history: no home yet
    assert features.loc["a-3", "country_mismatch"] == 0
    assert features.loc["abroad", "country_mismatch"] == 1


def test_amount_z_score_is_against_the_customers_past_purchases():
    steady = [purchase(f"s{d}", START + timedelta(days=d), amount=20.0 + d % 3) for d in range(12)]
    spike = purchase("spike", START + timedelta(days=13), amount=300.0)
    rich = [purchase(f"r{d}", START + timedelta(days=d), customer="rich", amount=300.0 + d % 5)
            for d in range(12)]
    features = build_features(frame([*steady, spike, *rich]))
    z = features.set_index(frame([*steady, spike, *rich])["event_id"])["amount_z_score"]
    assert z["spike"] > 3
    assert abs(z["s11"]) < 1.5
    assert abs(z["r11"]) < 1.5  # 300 is usual for this customer


def test_history_features_of_a_purchase_do_not_change_when_later_ones_arrive():
    rng = np.random.default_rng(3)
    rows = [purchase(f"e{i}", START + timedelta(minutes=int(m)), customer=f"c{rng.integers(5)}",
                     amount=float(rng.integers(5, 200)))
            for i, m in enumerate(sorted(rng.integers(0, 7 * 24 * 60, 300)))]
    history = ["purchases_last_10_minutes", "purchases_last_hour", "purchases_last_day",
               "hour_deviation", "country_mismatch"]
    early = build_features(frame(rows[:200]))[history]
    later = build_features(frame(rows))[history].iloc[:200]
    pd.testing.assert_frame_equal(early, later)


def test_frequencies_are_shares_of_all_purchases():
    rows = [purchase("a", START, category="books", payment="paypal"),
            purchase("b", START, category="books", payment="credit_card"),
            purchase("c", START, category="toys", payment="paypal"),
            purchase("d", START, category="books", payment="paypal")]
    features = build_features(frame(rows))
    assert features["category_frequency"].tolist() == [0.75, 0.75, 0.25, 0.75]
    assert features["payment_frequency"].tolist() == [0.75, 0.25, 0.75, 0.75]
    assert features["category_payment_frequency"].tolist() == [0.5, 0.25, 0.25, 0.5]


def usual_features(n=3000, seed=0):
    rng = np.random.default_rng(seed)
    features = pd.DataFrame({name: rng.normal(0, 1, n) for name in FEATURES})
    features["country_mismatch"] = 0.0
    features["quantity"] = rng.integers(1, 4, n).astype(float)
    features["category_payment_frequency"] = rng.uniform(0.02, 0.06, n)
    return features


def test_the_model_flags_and_explains_what_stands_out():
    features = usual_features()
    features.loc[7, "country_mismatch"] = 1.0
    features.loc[8, "quantity"] = 40.0
    features.loc[9, "category_payment_frequency"] = 0.0002
    model = fit(features)
    scores = model.score(features)
    assert set(np.argsort(-scores)[:3]) == {7, 8, 9}
    assert model.flag(scores).sum() == pytest.approx(0.01 * len(features), abs=2)
    why = model.explain(features.loc[[7, 8, 9]])
    assert why[0].startswith("country_mismatch=1")
    assert why[1].startswith("quantity=40")
    assert why[2].startswith("category_payment_frequency=0.0002")
    assert all(len(w.split(", ")) == 3 for w in why)


def test_the_model_only_sees_its_features():
    assert set(MODEL_FEATURES) <= set(FEATURES)
    with pytest.raises(ValueError, match="unknown features"):
        fit(usual_features(), ModelParams(features=("nonsense",)))
