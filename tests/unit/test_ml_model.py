import numpy as np
import pytest

import ml.model
from ml.features import build_features
from ml.model import ModelParams, fit, model_inputs
from ops.grading import evaluation_options, generated_purchases


@pytest.fixture(scope="module")
def features():
    purchases, _ = generated_purchases(evaluation_options(seed=9, count=3000))
    return build_features(purchases)


@pytest.mark.parametrize("threads", [2, 3, 7])
def test_scores_are_the_same_to_the_last_bit_for_any_number_of_threads(monkeypatch, features,
                                                                         threads):
    model = fit(features, ModelParams(n_estimators=20))
    serial = -model.forest.score_samples(model_inputs(features, model.params.features))
    blocks: list[int] = []
    score_samples = model.forest.score_samples
    monkeypatch.setattr(model.forest, "score_samples",
                        lambda rows: blocks.append(len(rows)) or score_samples(rows))
    monkeypatch.setattr(ml.model, "SCORING_THREADS", threads)
    monkeypatch.setattr(ml.model, "MIN_BLOCK_ROWS", 100)

    scores = model.score(features)

    assert len(blocks) == threads and sum(blocks) == len(features)
    np.testing.assert_array_equal(scores, serial)


def test_few_purchases_are_scored_in_one_block(monkeypatch, features):
    model = fit(features, ModelParams(n_estimators=5))
    blocks: list[int] = []
    score_samples = model.forest.score_samples
    monkeypatch.setattr(model.forest, "score_samples",
                        lambda rows: blocks.append(len(rows)) or score_samples(rows))
    monkeypatch.setattr(ml.model, "SCORING_THREADS", 4)

    model.score(features.head(50))

    assert blocks == [50]
