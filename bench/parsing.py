"""Reading figures out of what the measured processes print: Kafka's perf tools and the
project's own structured log lines (lakehouse.logs). Pure: text in, numbers out."""

from __future__ import annotations

import ast
import re
from typing import Any

_FIELD = re.compile(r"(\w+)=('(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|\S+)")


class OutputError(ValueError):
    """A measured process did not print the figure it should have."""


def log_events(text: str, event: str) -> list[dict[str, Any]]:
    """Every structured log line (`key=value ...`) of `event` in `text`, as dicts."""
    found = []
    for line in text.splitlines():
        fields = {key: _value(raw) for key, raw in _FIELD.findall(line)}
        if fields.get("event") == event:
            found.append(fields)
    return found


def last_log_event(text: str, event: str) -> dict[str, Any]:
    events = log_events(text, event)
    if not events:
        raise OutputError(f"no `{event}` log line in the output")
    return events[-1]


def _value(raw: str) -> Any:
    try:
        return ast.literal_eval(raw)
    except (ValueError, SyntaxError):
        return raw


def producer_perf_rate(text: str) -> float:
    """records/sec of the final summary line of org.apache.kafka.tools.ProducerPerformance
    (the one with the latency percentiles; the periodic lines before it are windows)."""
    for line in reversed(text.splitlines()):
        if "records sent," in line and "50th" in line:
            match = re.search(r"records sent, ([\d.]+) records/sec", line)
            if match:
                return float(match.group(1))
    raise OutputError("no ProducerPerformance summary line")


def consumer_perf(text: str) -> dict[str, float]:
    """The CSV summary of org.apache.kafka.tools.ConsumerPerformance as {column: value}
    (numeric columns only): e.g. `nMsg.sec` over the whole run, `fetch.nMsg.sec` without the
    group join."""
    lines = [line.strip() for line in text.splitlines()]
    for i, line in enumerate(lines[:-1]):
        if line.startswith("start.time,"):
            header = [c.strip() for c in line.split(",")]
            values = [v.strip() for v in lines[i + 1].split(",")]
            out = {}
            for name, value in zip(header, values, strict=False):
                try:
                    out[name] = float(value)
                except ValueError:
                    continue
            return out
    raise OutputError("no ConsumerPerformance summary")
