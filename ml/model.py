"""The Isolation Forest over purchase features: fit, score, flag, explain. No I/O.

The forest sees MODEL_FEATURES, the features that say how a purchase differs from its own
customer's habits or from what everybody does. The other FEATURES (amount, log_amount,
hour_of_day, day_of_week, category_frequency, payment_frequency) are computed with them but
describe what is common for everyone: fed to the forest they make ordinary purchases look
odd (`make ml-report` grades both: `all_features_model`).
Frequencies enter on a log scale, so a rare combination stands far from usual ones."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from sklearn.ensemble import IsolationForest

from ml.features import FEATURES

MODEL_FEATURES = (
    "amount_z_score",
    "quantity",
    "purchases_last_10_minutes",
    "purchases_last_hour",
    "purchases_last_day",
    "hour_deviation",
    "country_mismatch",
    "category_payment_frequency",
)
TOP_FEATURES = 3  # features named in a purchase's explanation
SCORING_THREADS = os.cpu_count() or 1
MIN_BLOCK_ROWS = 10_000  # fewer rows than this per thread are not worth a thread


@dataclass(frozen=True)
class ModelParams:
    features: tuple[str, ...] = MODEL_FEATURES
    # Scoring time grows with the trees; 50 grade nearly as well as 200 over the bar sweep
    # (docs/benchmarks.md).
    n_estimators: int = 50
    # Large samples let rare anomalies stand apart from small groups of usual purchases
    # (three-unit purchases, bank transfers); 256, the usual default, cannot (AUPRC 0.34
    # instead of 0.87 on seed 42 at a 1% share).
    max_samples: int = 4096
    # The threshold flags this share of the training purchases as anomalies.
    flag_share: float = 0.01
    random_state: int = 7

    def as_dict(self) -> dict[str, object]:
        return {**asdict(self), "features": list(self.features)}


def model_inputs(features: pd.DataFrame, names: tuple[str, ...]) -> np.ndarray:
    """The matrix the forest sees: the named features, frequencies as log10."""
    columns = [np.log10(features[n].clip(lower=1e-9)) if n.endswith("frequency") else features[n]
               for n in names]
    return np.column_stack([c.to_numpy(dtype=float) for c in columns])


def forest_scores(forest: IsolationForest, inputs: np.ndarray) -> np.ndarray:
    """The forest's anomaly score of each row, 0..1, higher is more anomalous.

    Rows are scored in blocks, one thread each (the trees' C code lets go of the GIL). A row's
    score sums the trees in the same order whatever its block, so the scores are the same to
    the last bit for any number of threads. (sklearn's own n_jobs splits the trees instead,
    and summed them in whatever order its threads finished.)"""
    blocks = np.array_split(inputs, max(1, min(SCORING_THREADS, len(inputs) // MIN_BLOCK_ROWS)))
    with ThreadPoolExecutor(len(blocks)) as pool:
        return -np.concatenate(list(pool.map(forest.score_samples, blocks)))


@dataclass
class AnomalyModel:
    """A fitted forest and the score at or above which a purchase is flagged."""

    forest: IsolationForest
    params: ModelParams
    threshold: float

    def score(self, features: pd.DataFrame) -> np.ndarray:
        """Anomaly score per purchase, 0..1: higher is more anomalous (0.5 is unremarkable)."""
        if features.empty:
            return np.empty(0)
        return forest_scores(self.forest, model_inputs(features, self.params.features))

    def flag(self, scores: np.ndarray) -> np.ndarray:
        return scores >= self.threshold

    def contributions(self, features: pd.DataFrame) -> np.ndarray:
        """How much each feature did to isolate each purchase (rows x model features).

        Along a purchase's path down every tree, a split keeps the purchase with n_child of
        the node's n_node training samples: it isolates log2(n_node / n_child) bits, credited
        to the split's feature. A feature that cuts a purchase off from almost everyone in one
        split earns many bits; the coin-flip splits every purchase meets earn about one."""
        inputs = model_inputs(features, self.params.features)
        bits = np.zeros_like(inputs)
        for tree, columns in zip(self.forest.estimators_, self.forest.estimators_features_,
                                 strict=True):
            path = tree.decision_path(inputs[:, columns]).tocsr()
            rows = np.repeat(np.arange(len(inputs)), np.diff(path.indptr))
            same_row = rows[:-1] == rows[1:]  # consecutive nodes of one purchase's path
            parent, child = path.indices[:-1][same_row], path.indices[1:][same_row]
            n_node = tree.tree_.n_node_samples
            gain = np.log2(n_node[parent] / n_node[child])
            # np.bincount sums in the same order as np.add.at, many times faster
            cells = rows[:-1][same_row] * bits.shape[1] + columns[tree.tree_.feature[parent]]
            bits += np.bincount(cells, weights=gain, minlength=bits.size).reshape(bits.shape)
        return bits / len(self.forest.estimators_)

    def explain(self, features: pd.DataFrame, top: int = TOP_FEATURES) -> list[str]:
        """Why each purchase stands out: the `top` features that isolated it most, as
        `name=value` (the feature's value for this purchase)."""
        if features.empty:
            return []
        names = self.params.features
        ranked = np.argsort(-self.contributions(features), axis=1, kind="stable")[:, :top]
        values = features[list(names)].to_numpy(dtype=float)
        return [", ".join(f"{names[j]}={values[i, j]:.4g}" for j in row)
                for i, row in enumerate(ranked)]


def fit(features: pd.DataFrame, params: ModelParams | None = None) -> AnomalyModel:
    """Fit on every purchase given (no labels) and set the threshold at the top flag_share."""
    params = params or ModelParams()
    unknown = set(params.features) - set(FEATURES)
    if unknown:
        raise ValueError(f"unknown features {sorted(unknown)}; known: {FEATURES}")
    if features.empty:
        raise ValueError("no purchases to fit on")
    inputs = model_inputs(features, params.features)
    forest = IsolationForest(n_estimators=params.n_estimators,
                             max_samples=min(params.max_samples, len(inputs)),
                             random_state=params.random_state)
    forest.fit(inputs)
    scores = forest_scores(forest, inputs)
    return AnomalyModel(forest, params, float(np.quantile(scores, 1 - params.flag_share)))
