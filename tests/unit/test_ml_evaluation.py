import numpy as np
import pandas as pd
import pytest

from lakehouse.ground_truth import ANOMALY_PATTERNS
from ml.evaluation import BAR, Evaluation, metrics, precision_at_top, rule_baseline
from ops.grading import BAR_SEEDS, BAR_SHARES, evaluate_generated, evaluation_options


def labelled(n_usual, patterns):
    return pd.Series([None] * n_usual + list(patterns), dtype=object)


def test_a_perfect_ranking_scores_one():
    patterns = labelled(990, ["burst"] * 5 + ["geo_jump"] * 5)
    scores = np.r_[np.zeros(990), np.ones(10)]
    m = metrics(scores, scores > 0.5, patterns)
    assert m["roc_auc"] == m["auprc"] == m["precision_at_1pct"] == m["recall_at_threshold"] == 1.0
    assert m["recall_per_pattern"] == {"burst": 1.0, "geo_jump": 1.0}
    assert m["anomalies_per_pattern"] == {"burst": 5, "geo_jump": 5}
    assert m["anomalies"] == 10 and m["flagged"] == 10


def test_precision_at_the_top_and_recall_per_pattern():
    patterns = labelled(196, ["burst", "burst", "rare_combo", "rare_combo"])
    scores = np.r_[np.linspace(0, 0.5, 196), [0.9, 0.1, 0.95, 0.97]]
    flagged = scores > 0.8
    m = metrics(scores, flagged, patterns)
    assert m["precision_at_1pct"] == 1.0  # top 2 of 200: both rare_combo
    assert m["recall_per_pattern"] == {"burst": 0.5, "rare_combo": 1.0}
    assert m["recall_at_threshold"] == 0.75
    assert m["precision_at_threshold"] == 1.0
    assert precision_at_top(scores, patterns.notna().to_numpy(), 4) == 0.75


def test_below_a_one_percent_share_the_bar_asks_for_precision_over_as_many_as_there_are():
    patterns = labelled(995, ["burst"] * 5)  # 0.5%: precision at the top 1% is at most 0.5
    scores = np.r_[np.zeros(995), np.ones(5)]
    m = metrics(scores, scores > 0.5, patterns)
    assert m["precision_at_1pct"] == 0.5
    assert m["bar_precision"] == m["r_precision"] == 1.0


def test_the_baseline_flags_amounts_above_the_99th_percentile():
    amount = np.arange(1, 1001, dtype=float)
    scores, flagged = rule_baseline(amount)
    assert np.array_equal(scores, amount)
    assert flagged.sum() == 10 and flagged[-10:].all()


def test_failures_name_each_missed_clause():
    good = {"roc_auc": 0.99, "auprc": 0.8, "bar_precision": 0.9}
    evaluation = Evaluation(good, {"auprc": 0.2}, np.zeros(1), np.zeros(1), labelled(1, []), 0.5)
    assert evaluation.failures() == []
    evaluation.model = {**good, "auprc": 0.1}
    assert [f.split()[0] for f in evaluation.failures()] == ["auprc", "auprc"]  # bar and baseline


@pytest.mark.parametrize("share", BAR_SHARES)
def test_the_model_meets_the_bar_on_generated_data(share):
    """ROC-AUC >= 0.95, AUPRC >= 0.5, precision at the top 1% >= 0.6 (R-precision below a 1%
    share) and AUPRC above the amount-above-p99 baseline, for every seed."""
    for seed in BAR_SEEDS:
        evaluation = evaluate_generated(evaluation_options(seed=seed, anomaly_share=share))
        assert evaluation.failures() == [], (seed, share, evaluation.model, evaluation.baseline)
        assert set(evaluation.model["recall_per_pattern"]) <= set(ANOMALY_PATTERNS)
    assert set(BAR) == {"roc_auc", "auprc", "bar_precision"}
