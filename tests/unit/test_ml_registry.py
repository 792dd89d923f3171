import json

import numpy as np
import pytest

from ml import registry
from ml.features import build_features
from ml.model import ModelParams, fit
from ops.grading import evaluation_options, generated_purchases

TRAINING = {"table": "gold.fct_purchases", "snapshot_id": 1234, "rows": 0}


@pytest.fixture(scope="module")
def features():
    purchases, _ = generated_purchases(evaluation_options(seed=5, count=1500))
    return build_features(purchases)


def test_a_saved_model_loads_back_the_same(tmp_path, features):
    params = ModelParams(n_estimators=50, flag_share=0.02)
    training = {**TRAINING, "rows": len(features)}
    version = registry.model_version(params, training)
    saved = registry.RegisteredModel(version, fit(features, params), training, {"auprc": 0.9})
    registry.save(tmp_path, saved)

    loaded = registry.load(tmp_path)
    assert loaded.version == version == registry.current_version(tmp_path)
    assert loaded.training == training
    assert loaded.metrics == {"auprc": 0.9}
    assert loaded.trained_at == saved.trained_at
    assert loaded.model.params == params
    assert loaded.model.threshold == saved.model.threshold
    np.testing.assert_array_equal(loaded.model.score(features), saved.model.score(features))
    assert loaded.model.explain(features.head(20)) == saved.model.explain(features.head(20))

    card = json.loads((tmp_path / version / "model.json").read_text())
    assert card["training"]["snapshot_id"] == 1234
    assert card["features"] == list(params.features)
    assert card["parameters"]["n_estimators"] == 50


def test_the_newest_save_becomes_current_and_every_version_stays(tmp_path, features):
    first, second = (registry.RegisteredModel(f"v{i}", fit(features, ModelParams(n_estimators=10)),
                                              TRAINING, trained_at=f"2026-01-0{i}T00:00:00+00:00")
                     for i in (1, 2))
    registry.save(tmp_path, first)
    registry.save(tmp_path, second)
    assert registry.current_version(tmp_path) == "v2"
    assert registry.versions(tmp_path) == ["v1", "v2"]
    assert registry.load(tmp_path, "v1").version == "v1"


def test_a_version_names_its_inputs():
    params = ModelParams()
    assert registry.model_version(params, TRAINING) == registry.model_version(ModelParams(), TRAINING)
    assert registry.model_version(params, TRAINING) != registry.model_version(
        params, {**TRAINING, "snapshot_id": 99})
    assert registry.model_version(params, TRAINING) != registry.model_version(
        ModelParams(flag_share=0.02), TRAINING)


def test_no_model_is_a_clear_error(tmp_path):
    assert registry.current_version(tmp_path) is None
    with pytest.raises(FileNotFoundError, match="python -m ml train"):
        registry.load(tmp_path)
    with pytest.raises(FileNotFoundError, match="no model 'v9'"):
        registry.load(tmp_path, "v9")
