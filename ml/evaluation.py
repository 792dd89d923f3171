"""How good the detector is, against the producer's ground truth, beside a rule baseline.

The model is fitted without labels; the labels (event_id -> pattern) only grade it. The rule
baseline flags purchases whose amount is above the 99th percentile, and ranks by amount. Both
are measured the same way in the same run.

The bar: ROC-AUC >= 0.95, AUPRC >= 0.5, precision at the top 1% >= 0.6, and an AUPRC
above the baseline's. When fewer than 1% of purchases are anomalous, precision at the top 1%
cannot reach 0.6 (at a 0.5% share it is at most 0.5), so the bar then takes the precision at
the top `anomalies` purchases instead (R-precision): the same question, asked of a list only
as long as there are anomalies to find."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, roc_auc_score

from lakehouse.ground_truth import ANOMALY_PATTERNS
from ml.features import build_features
from ml.model import AnomalyModel, ModelParams, fit

TOP_SHARE = 0.01
BASELINE_QUANTILE = 0.99
BAR = {"roc_auc": 0.95, "auprc": 0.5, "bar_precision": 0.6}


def precision_at_top(scores: np.ndarray, is_anomaly: np.ndarray, k: int) -> float:
    """Share of anomalies among the k highest scores (ties broken by position)."""
    if k <= 0:
        return float("nan")
    top = np.argsort(-scores, kind="stable")[:k]
    return float(is_anomaly[top].mean())


def metrics(scores: np.ndarray, flagged: np.ndarray, patterns: pd.Series) -> dict[str, object]:
    """Ranking and threshold figures of one detector. `patterns` holds each purchase's injected
    pattern, or None for a usual purchase."""
    patterns = pd.Series(patterns).reset_index(drop=True)
    is_anomaly = patterns.notna().to_numpy()
    n, anomalies = len(scores), int(is_anomaly.sum())
    both_classes = 0 < anomalies < n
    top_k = max(1, math.ceil(TOP_SHARE * n))
    found = flagged & is_anomaly
    present = [p for p in ANOMALY_PATTERNS if (patterns == p).any()]
    present += sorted(set(patterns.dropna()) - set(present))
    return {
        "purchases": n,
        "anomalies": anomalies,
        "anomaly_share": round(anomalies / n, 5) if n else 0.0,
        "roc_auc": float(roc_auc_score(is_anomaly, scores)) if both_classes else float("nan"),
        "auprc": float(average_precision_score(is_anomaly, scores)) if both_classes else float("nan"),
        "precision_at_1pct": precision_at_top(scores, is_anomaly, top_k),
        "r_precision": precision_at_top(scores, is_anomaly, anomalies),
        "bar_precision": precision_at_top(scores, is_anomaly, min(top_k, anomalies)),
        "flagged": int(flagged.sum()),
        "precision_at_threshold": float(found.sum() / flagged.sum()) if flagged.any() else float("nan"),
        "recall_at_threshold": float(found.sum() / anomalies) if anomalies else float("nan"),
        "recall_per_pattern": {
            p: float(flagged[(patterns == p).to_numpy()].mean()) for p in present
        },
        "anomalies_per_pattern": {p: int((patterns == p).sum()) for p in present},
    }


def rule_baseline(amount: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Scores (the amount) and flags (amount above its 99th percentile) of the rule baseline."""
    amount = np.asarray(amount, dtype=float)
    return amount, amount > np.quantile(amount, BASELINE_QUANTILE)


@dataclass
class Evaluation:
    """The model and the baseline graded on the same purchases, with what the plots need."""

    model: dict[str, object]
    baseline: dict[str, object]
    scores: np.ndarray
    baseline_scores: np.ndarray
    patterns: pd.Series  # pattern per purchase, None when usual
    threshold: float

    def failures(self) -> list[str]:
        """The bar's clauses this evaluation misses (empty: it meets the bar)."""
        missed = [f"{name} {self.model[name]:.3f} < {floor}" for name, floor in BAR.items()
                  if not self.model[name] >= floor]
        if not self.model["auprc"] > self.baseline["auprc"]:
            missed.append(f"auprc {self.model['auprc']:.3f} <= baseline {self.baseline['auprc']:.3f}")
        return missed

    def summary(self) -> dict[str, object]:
        """The figures, the verdict and what missed, ready for JSON."""
        return json_ready({"model": self.model, "baseline": self.baseline,
                           "meets_bar": not self.failures(), "bar_failures": self.failures()})


def json_ready(value: Any) -> Any:
    """Figures as plain JSON: numpy numbers as Python ones, rounded to 4 places, NaN as None."""
    if isinstance(value, dict):
        return {k: json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(v) for v in value]
    if isinstance(value, float | np.floating):
        return None if math.isnan(value) else round(float(value), 4)
    if isinstance(value, np.integer | np.bool_):
        return value.item()
    return value


def evaluate(model: AnomalyModel, features: pd.DataFrame, purchases: pd.DataFrame,
             truth: dict[str, str]) -> Evaluation:
    """Grade `model` on `purchases` (their `features` given) against `truth`."""
    patterns = purchases["event_id"].map(truth).reset_index(drop=True)
    patterns = patterns.astype(object).where(patterns.notna(), None)
    scores = model.score(features)
    baseline_scores, baseline_flagged = rule_baseline(purchases["total_amount"].astype(float))
    return Evaluation(
        model=metrics(scores, model.flag(scores), patterns),
        baseline=metrics(baseline_scores, baseline_flagged, patterns),
        scores=scores,
        baseline_scores=baseline_scores,
        patterns=patterns,
        threshold=model.threshold,
    )


def fit_and_evaluate(purchases: pd.DataFrame, truth: dict[str, str],
                     params: ModelParams | None = None) -> Evaluation:
    """Fit a model on `purchases` without labels, then grade it against `truth`."""
    features = build_features(purchases)
    return evaluate(fit(features, params), features, purchases, truth)
