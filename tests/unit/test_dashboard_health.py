"""The dashboard's health figures that are not SQL (dashboard/health.py)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pandas as pd

from dashboard.health import freshness, human_age, lag_frame

NOW = datetime(2026, 12, 7, 12, tzinfo=UTC)


def test_freshness_turns_amber_then_red_at_the_thresholds():
    levels = {hours: freshness("silver", NOW - timedelta(hours=hours), NOW, 6, 24).level
              for hours in (0, 5.9, 6, 23.9, 24, 71)}
    assert levels == {0: "fresh", 5.9: "fresh", 6: "amber", 23.9: "amber", 24: "red", 71: "red"}


def test_freshness_of_nothing_is_unknown_and_naive_times_are_utc():
    assert freshness("silver", None, NOW, 6, 24).level == "unknown"
    assert freshness("silver", pd.NaT, NOW, 6, 24).age is None
    naive = freshness("silver", pd.Timestamp("2026-12-07 11:00:00"), NOW, 6, 24)
    assert naive.age == timedelta(hours=1) and naive.level == "fresh"


def test_an_age_reads_in_the_unit_that_fits():
    assert [human_age(timedelta(seconds=s)) for s in (5, 600, 3 * 3600, 3 * 86400)] == [
        "5 s", "10 min", "3.0 h", "3.0 days"]
    assert human_age(None) == "never"


def test_lag_comes_from_each_batch_and_a_cut_line_is_skipped():
    line = {"timestamp": "2026-12-07T11:00:00.000Z", "kafka_lag": 42, "input_rows": 100,
            "batch_seconds": 1.5}
    frame = lag_frame({"silver": [json.dumps(line), '{"timestamp": "2026-12-07T11:00:05', ""],
                       "bronze": [json.dumps({**line, "kafka_lag": 0})]})
    assert list(frame["job"]) == ["bronze", "silver"]
    assert list(frame["kafka_lag"]) == [0, 42]
    assert lag_frame({}).empty
