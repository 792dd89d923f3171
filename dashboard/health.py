"""Pipeline health figures that are not SQL: freshness levels against the settings' thresholds,
and Kafka lag from the streaming jobs' metrics files (spark_jobs/streaming.py writes one JSON
object per micro-batch)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd

from lakehouse.settings import Settings

STREAMING_JOBS = ("bronze", "silver")
LEVEL_COLOURS = {"fresh": "green", "amber": "orange", "red": "red", "unknown": "gray"}


@dataclass(frozen=True)
class Freshness:
    what: str
    at: datetime | None  # the newest commit or event; None when there is none
    age: timedelta | None
    level: str  # fresh | amber | red | unknown

    @property
    def age_hours(self) -> float | None:
        return None if self.age is None else self.age.total_seconds() / 3600


def freshness(what: str, at: datetime | None, now: datetime, warn_hours: float,
              error_hours: float) -> Freshness:
    """How old `at` is at `now`, and its level: amber from `warn_hours`, red from `error_hours`
    (dbt's source freshness: warn_after, error_after)."""
    if at is None or pd.isna(at):
        return Freshness(what, None, None, "unknown")
    at = pd.Timestamp(at).to_pydatetime()
    if at.tzinfo is None:  # Iceberg's timestamps without zone are UTC
        at = at.replace(tzinfo=now.tzinfo)
    age = max(now - at, timedelta(0))
    hours = age.total_seconds() / 3600
    level = "red" if hours >= error_hours else "amber" if hours >= warn_hours else "fresh"
    return Freshness(what, at, age, level)


def human_age(age: timedelta | None) -> str:
    if age is None:
        return "never"
    seconds = age.total_seconds()
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 2 * 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def lag_frame(lines_by_job: dict[str, list[str]]) -> pd.DataFrame:
    """Each micro-batch's Kafka lag (messages behind the newest offset) per job. Lines that are
    not a JSON object with a timestamp (a file cut mid-line by a kill) are skipped."""
    rows = []
    for job, lines in lines_by_job.items():
        for line in lines:
            try:
                batch = json.loads(line)
                rows.append({"job": job, "timestamp": pd.Timestamp(batch["timestamp"]),
                             "kafka_lag": int(batch.get("kafka_lag") or 0),
                             "input_rows": int(batch.get("input_rows") or 0),
                             "batch_seconds": float(batch.get("batch_seconds") or 0.0)})
            except (ValueError, KeyError, TypeError):
                continue
    columns = ["job", "timestamp", "kafka_lag", "input_rows", "batch_seconds"]
    return pd.DataFrame(rows, columns=columns).sort_values(["timestamp", "job"], ignore_index=True)


def metrics_paths(settings: Settings) -> dict[str, Path]:
    return {job: settings.metrics_path(job) for job in STREAMING_JOBS}


def read_lag(settings: Settings, last: int = 2000) -> pd.DataFrame:
    """The last `last` batches of each streaming job's metrics file (missing files: none)."""
    lines = {}
    for job, path in metrics_paths(settings).items():
        lines[job] = path.read_text().splitlines()[-last:] if path.exists() else []
    return lag_frame(lines)
