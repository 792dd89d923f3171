"""The contract between the producer and the detector: which events carry an injected anomaly,
and its pattern.

The producer writes a CSV of (event_id, pattern) beside the topic; the anomaly evaluation reads
it. Labels never travel in the events themselves."""

from __future__ import annotations

import csv
from collections.abc import Mapping
from pathlib import Path

# The injected anomaly patterns, in the order reports list them (README, "Anomaly detection").
ANOMALY_PATTERNS = ("amount_spike", "burst", "unusual_hour", "geo_jump", "rare_combo",
                    "quantity_outlier")


def write_ground_truth(path: Path, labels: Mapping[str, str]) -> None:
    """Merge `labels` (event_id -> pattern) into the ground-truth CSV, atomically."""
    unknown = set(labels.values()) - set(ANOMALY_PATTERNS)
    if unknown:
        raise ValueError(f"unknown anomaly patterns {sorted(unknown)}; known: {ANOMALY_PATTERNS}")
    rows = read_ground_truth(path) | dict(labels)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["event_id", "pattern"])
        writer.writerows(sorted(rows.items()))
    tmp.replace(path)


def read_ground_truth(path: Path) -> dict[str, str]:
    """event_id -> pattern; empty when the file does not exist."""
    if not path.exists():
        return {}
    with path.open() as f:
        return {r["event_id"]: r["pattern"] for r in csv.DictReader(f)}
