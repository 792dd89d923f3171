"""serving/alerts.py's state changes and serving/rules.py's declarations (pure)."""

from __future__ import annotations

from datetime import datetime, timedelta

from lakehouse.contract import stream_names
from serving.alerts import OPEN, RESOLVED, breaches, next_alerts
from serving.rules import rules

T0 = datetime(2026, 12, 7, 12, 0)
T1 = T0 + timedelta(minutes=10)
T2 = T1 + timedelta(minutes=10)


def found(values: dict[str, float], at: datetime, rule: str = "endpoint_error_rate"):
    return breaches(rule, 0.05, values, at - timedelta(minutes=10), at)


def test_a_breach_is_raised_once_kept_while_it_lasts_and_resolved_when_it_clears():
    first = next_alerts([], found({"api GET /cart": 0.2, "api GET /": 0.01}, T0), {"endpoint_error_rate"}, T0)
    assert [(a.subject, a.status, a.first_seen) for a in first.raised] == [("api GET /cart", OPEN, T0)]
    assert first.still_open == first.resolved == []

    again = next_alerts(first.raised, found({"api GET /cart": 0.3}, T1), {"endpoint_error_rate"}, T1)
    assert again.raised == [] and again.resolved == []
    [kept] = again.still_open
    assert (kept.alert_id, kept.first_seen, kept.last_seen, kept.value) == (
        first.raised[0].alert_id, T0, T1, 0.3)
    assert kept.window_start == first.raised[0].window_start  # the window it was raised in

    cleared = next_alerts(again.still_open, found({"api GET /cart": 0.04}, T2), {"endpoint_error_rate"}, T2)
    [resolved] = cleared.resolved
    assert (resolved.alert_id, resolved.status, resolved.resolved_at) == (kept.alert_id, RESOLVED, T2)
    assert cleared.raised == cleared.still_open == []


def test_a_new_breach_after_a_resolution_is_a_new_alert_and_a_rerun_draws_the_same_id():
    raised = next_alerts([], found({"s": 1.0}, T0), {"endpoint_error_rate"}, T0).raised
    resolved = next_alerts(raised, [], {"endpoint_error_rate"}, T1).resolved
    later = next_alerts(resolved, found({"s": 1.0}, T2), {"endpoint_error_rate"}, T2).raised
    assert later[0].alert_id != raised[0].alert_id and later[0].first_seen == T2
    assert next_alerts([], found({"s": 1.0}, T0), {"endpoint_error_rate"}, T0).raised == raised


def test_a_rule_that_could_not_run_leaves_its_open_alerts_alone():
    raised = next_alerts([], found({"s": 1.0}, T0), {"endpoint_error_rate"}, T0).raised
    assert next_alerts(raised, [], set(), T1).rows == []


def test_only_values_above_the_threshold_breach_and_a_null_value_never_does():
    assert [b.subject for b in breaches("r", 3, {"a": 3, "b": 4, "c": None}, T0, T1)] == ["b"]


def test_every_rule_is_declared_once_with_a_window_and_renders_its_window_into_spark_sql():
    declared = rules(900)
    assert len({rule.name for rule in declared}) == len(declared) == 5
    for rule in declared:
        assert rule.window > timedelta(0) and rule.description
        text = rule.sql(T1)
        assert "{" not in text and "subject" in text and "value" in text
    freshness = next(rule for rule in declared if rule.name == "silver_freshness")
    assert freshness.threshold == 900 and "timestamp '2026-12-07 12:10:00'" in freshness.sql(T1)
    assert all(f"silver.{stream}" in freshness.sql(T1) for stream in stream_names())
    errors = next(rule for rule in declared if rule.name == "endpoint_error_rate")
    assert "timestamp '2026-12-07 12:00:00'" in errors.sql(T1)
