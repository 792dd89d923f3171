"""The model registry: one folder per trained model under settings.models_dir.

    models/<version>/forest.joblib   the fitted Isolation Forest
    models/<version>/model.json      version, training data (table, Iceberg snapshot id, rows),
                                     parameters, feature list, threshold, evaluation metrics
    models/CURRENT                   the version scoring uses

A version names its inputs (parameters, features, training snapshot and row count), so the
same training data and parameters give the same version. Every scored row names its model."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import joblib

from ml.model import AnomalyModel, ModelParams

CURRENT = "CURRENT"


@dataclass
class RegisteredModel:
    version: str
    model: AnomalyModel
    training: dict[str, Any]  # table, snapshot_id, rows
    metrics: dict[str, Any] = field(default_factory=dict)
    trained_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))

    def card(self) -> dict[str, Any]:
        """Everything about the model but the forest itself, as JSON-ready data."""
        model = self.model
        return {
            "version": self.version,
            "trained_at": self.trained_at,
            "training": self.training,
            "parameters": model.params.as_dict(),
            "features": list(model.params.features),
            "threshold": model.threshold,
            "metrics": self.metrics,
        }


def model_version(params: ModelParams, training: dict[str, Any]) -> str:
    spec = json.dumps({"parameters": params.as_dict(), "training": training}, sort_keys=True)
    return "iforest-" + hashlib.sha256(spec.encode()).hexdigest()[:12]


def _write_atomically(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def save(models_dir: Path, registered: RegisteredModel, make_current: bool = True) -> Path:
    """Write the model's folder (forest first, card last) and point CURRENT at it."""
    folder = models_dir / registered.version
    folder.mkdir(parents=True, exist_ok=True)
    joblib.dump(registered.model.forest, folder / "forest.joblib")
    _write_atomically(folder / "model.json", json.dumps(registered.card(), indent=2) + "\n")
    if make_current:
        _write_atomically(models_dir / CURRENT, registered.version + "\n")
    return folder


def current_version(models_dir: Path) -> str | None:
    path = models_dir / CURRENT
    if not path.exists():
        return None
    return path.read_text().strip() or None


def versions(models_dir: Path) -> list[str]:
    """Every registered version, oldest first."""
    cards = [json.loads(p.read_text()) for p in models_dir.glob("*/model.json")]
    return [c["version"] for c in sorted(cards, key=lambda c: (c["trained_at"], c["version"]))]


def load(models_dir: Path, version: str | None = None) -> RegisteredModel:
    """A registered model: `version`, or the current one."""
    version = version or current_version(models_dir)
    if version is None:
        raise FileNotFoundError(f"no model in {models_dir}: run `python -m ml train` first")
    folder = models_dir / version
    if not (folder / "model.json").exists():
        raise FileNotFoundError(f"no model {version!r} in {models_dir}")
    card = json.loads((folder / "model.json").read_text())
    parameters = {**card["parameters"], "features": tuple(card["parameters"]["features"])}
    model = AnomalyModel(
        forest=joblib.load(folder / "forest.joblib"),
        params=ModelParams(**parameters),
        threshold=card["threshold"],
    )
    return RegisteredModel(card["version"], model, card["training"], card["metrics"],
                           card["trained_at"])
