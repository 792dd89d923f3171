"""The contract checked in plain Python: the test oracle for silver's Spark checks.

It gives the same quarantine reason, in the same order, as spark_jobs.contract_checks for one
Kafka message value, from the same field specs (lakehouse.contract), so the tests can compare
the Spark job with an independent reading of the contract on any message they make."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from lakehouse.contract import MAX_MESSAGE_BYTES, PURCHASES, Contract, FieldSpec, Reason, contract
from lakehouse.settings import Settings

MAX_FUTURE_SKEW = timedelta(seconds=Settings.model_fields["max_future_skew_seconds"].default)


def _has_json_type(value: Any, json_type: str) -> bool:
    if json_type == "string":
        return isinstance(value, str)
    if json_type == "boolean":
        return isinstance(value, bool)
    if json_type == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if json_type == "number":
        return (
            isinstance(value, int | float)
            and not isinstance(value, bool)
            and math.isfinite(value)
        )
    raise ValueError(f"contract uses unsupported JSON type {json_type!r}")


def parse_event_time(text: str) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def _out_of_range(spec: FieldSpec, value: Any) -> bool:
    if spec.json_type == "string":
        if spec.min_length is not None and len(value) < spec.min_length:
            return True
        if spec.max_length is not None and len(value) > spec.max_length:
            return True
    if spec.json_type in ("integer", "number"):
        if spec.minimum is not None and value < spec.minimum:
            return True
        if spec.exclusive_minimum is not None and value <= spec.exclusive_minimum:
            return True
        if spec.maximum is not None and value > spec.maximum:
            return True
    return spec.enum is not None and value not in spec.enum


def quarantine_reason(
    raw: bytes, now: datetime | None = None, max_future_skew: timedelta = MAX_FUTURE_SKEW,
    stream: str = PURCHASES,
) -> str | None:
    """The first contract failure of one Kafka message value, or None when it is valid.

    Same order and codes as the Spark silver job: size, UTF-8, JSON object, then per field in
    contract order missing / wrong type / out of range (and an event_time too far ahead of
    `now`), then the contract's product checks (purchases: the total_amount rule)."""
    if len(raw) > MAX_MESSAGE_BYTES:
        return Reason.OVERSIZED
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return Reason.NOT_UTF8
    try:
        event = json.loads(text)
    except ValueError:
        return Reason.NOT_JSON
    if not isinstance(event, dict):
        return Reason.NOT_JSON
    return event_reason(event, now, max_future_skew, stream)


def event_reason(
    event: dict[str, Any],
    now: datetime | None = None,
    max_future_skew: timedelta = MAX_FUTURE_SKEW,
    stream: str = PURCHASES,
) -> str | None:
    """The first contract failure of a parsed event, or None when it is valid."""
    now = now or datetime.now(UTC)
    spec_of: Contract = contract(stream)
    for spec in spec_of.fields:
        value = event.get(spec.name)
        if value is None:
            if spec.required:
                return f"{Reason.MISSING_FIELD}:{spec.name}"
            continue
        if not _has_json_type(value, spec.json_type) or (
            spec.is_timestamp and parse_event_time(value) is None
        ):
            return f"{Reason.WRONG_TYPE}:{spec.name}"
        if spec.name == "schema_version" and value not in spec_of.schema_versions:
            return Reason.UNKNOWN_SCHEMA_VERSION
        if _out_of_range(spec, value):
            return f"{Reason.OUT_OF_RANGE}:{spec.name}"
        if spec.is_timestamp and parse_event_time(value) > now + max_future_skew:
            return Reason.FUTURE_EVENT_TIME
    for check in spec_of.checks:
        expected = math.prod((Decimal(str(event[name])) for name in check.product_of), start=Decimal(1))
        if abs(Decimal(str(event[check.field])) - expected) > check.tolerance:
            return check.reason
    return None
