"""The ground-truth file: which events carry an injected anomaly, and its pattern.

A CSV of (event_id, pattern), written by the producer beside the topic and read by the
anomaly evaluation. Labels never travel in the events themselves."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from pathlib import Path

from producer.events import Message


def write_ground_truth(path: Path, messages: Iterable[Message]) -> None:
    """Merge (event_id, pattern) of the anomalies into the ground-truth CSV, atomically."""
    rows = read_ground_truth(path)
    rows.update({m.event_id: m.label for m in messages if m.kind == "anomaly"})
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
