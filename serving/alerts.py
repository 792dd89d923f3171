"""What one alert run changes in `serving.alerts` (pure; serving/job.py does the I/O).

An alert is one breach of a rule by a subject, open from the run that first saw it (its
window is that run's) until the first run that finds the subject no longer in breach, which
resolves it. A run while it stays in breach updates its value and last_seen: the same breach
is never raised twice. A rule that could not run (a table not written yet) leaves its open
alerts as they are."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime

ALERTS_TABLE = "serving.alerts"
OPEN = "open"
RESOLVED = "resolved"
# alert ids are name-based UUIDs: a rerun of a run that did not commit draws the same ids
ALERT_NAMESPACE = uuid.UUID("6f1c4a8e-2d9b-4f3a-9c57-0b8e3d2a1f60")

ALERTS_COLUMNS = (
    ("alert_id", "string"), ("rule", "string"), ("subject", "string"),
    ("window_start", "timestamp"), ("window_end", "timestamp"),
    ("value", "double"), ("threshold", "double"),
    ("first_seen", "timestamp"), ("last_seen", "timestamp"),
    ("resolved_at", "timestamp"), ("status", "string"),
)


@dataclass(frozen=True)
class Breach:
    """A subject whose value is above its rule's threshold in this run."""

    rule: str
    subject: str
    value: float
    threshold: float
    window_start: datetime
    window_end: datetime


@dataclass(frozen=True)
class Alert:
    alert_id: str
    rule: str
    subject: str
    window_start: datetime
    window_end: datetime
    value: float
    threshold: float
    first_seen: datetime
    last_seen: datetime
    resolved_at: datetime | None
    status: str

    @property
    def key(self) -> tuple[str, str]:
        return self.rule, self.subject


@dataclass(frozen=True)
class Changes:
    raised: list[Alert]
    still_open: list[Alert]
    resolved: list[Alert]

    @property
    def rows(self) -> list[Alert]:
        return [*self.raised, *self.still_open, *self.resolved]


def breaches(rule: str, threshold: float, values: Mapping[str, float], window_start: datetime,
             window_end: datetime) -> list[Breach]:
    """The subjects of a rule's query result above its threshold (a null value is no breach)."""
    return [Breach(rule, subject, float(value), threshold, window_start, window_end)
            for subject, value in sorted(values.items())
            if value is not None and float(value) > threshold]


def next_alerts(open_alerts: Iterable[Alert], found: Iterable[Breach], ran: set[str],
                now: datetime) -> Changes:
    """The rows a run writes: new alerts, open ones still in breach, open ones resolved."""
    open_by_key = {alert.key: alert for alert in open_alerts if alert.status == OPEN}
    found_by_key = {(breach.rule, breach.subject): breach for breach in found}
    raised, still_open, resolved = [], [], []
    for key, breach in sorted(found_by_key.items()):
        held = open_by_key.get(key)
        if held is None:
            raised.append(Alert(
                alert_id=str(uuid.uuid5(ALERT_NAMESPACE, f"{breach.rule}|{breach.subject}|"
                                                         f"{breach.window_start.isoformat()}")),
                rule=breach.rule, subject=breach.subject,
                window_start=breach.window_start, window_end=breach.window_end,
                value=breach.value, threshold=breach.threshold,
                first_seen=now, last_seen=now, resolved_at=None, status=OPEN))
        else:
            still_open.append(replace(held, value=breach.value, threshold=breach.threshold,
                                      window_end=breach.window_end, last_seen=now))
    for key, held in sorted(open_by_key.items()):
        if key not in found_by_key and held.rule in ran:
            resolved.append(replace(held, resolved_at=now, status=RESOLVED))
    return Changes(raised, still_open, resolved)
