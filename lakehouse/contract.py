"""The purchase event contract, read from contracts/purchase_event.schema.json.

The JSON Schema is the one source; this module turns it into field specs that the producer,
the Spark silver job (spark_jobs.contract_checks) and the tests share, and gives the
pure-Python check that yields the same quarantine reason codes the Spark job writes."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import cache
from typing import Any

from lakehouse.settings import CONTRACT_PATH

# Messages larger than this are quarantined unread (a purchase event is well under 1 KiB).
MAX_MESSAGE_BYTES = 64 * 1024
# total_amount must equal quantity * unit_price within this many currency units.
TOTAL_AMOUNT_TOLERANCE = Decimal("0.01")
# An event_time further ahead of the clock than this is quarantined (clock skew, bad producers).
DEFAULT_MAX_FUTURE_SKEW = timedelta(minutes=5)
# Money columns are typed as decimal(precision, scale) in silver and gold.
MONEY_PRECISION, MONEY_SCALE = 12, 2


class Reason:
    """Quarantine reason codes. A field-specific reason is `<code>:<field>`."""

    NOT_UTF8 = "not_utf8"
    NOT_JSON = "not_json"
    OVERSIZED = "oversized"
    MISSING_FIELD = "missing_field"
    WRONG_TYPE = "wrong_type"
    OUT_OF_RANGE = "out_of_range"
    UNKNOWN_SCHEMA_VERSION = "unknown_schema_version"
    TOTAL_MISMATCH = "total_mismatch"
    FUTURE_EVENT_TIME = "event_time_in_future"


@dataclass(frozen=True)
class FieldSpec:
    name: str
    json_type: str  # string | integer | number | boolean
    required: bool
    description: str = ""
    format: str | None = None
    enum: tuple[Any, ...] | None = None
    minimum: float | None = None
    exclusive_minimum: float | None = None
    maximum: float | None = None
    min_length: int | None = None
    max_length: int | None = None
    pii: bool = False  # hashed on the way into silver

    @property
    def is_money(self) -> bool:
        return self.json_type == "number"

    @property
    def is_timestamp(self) -> bool:
        return self.format == "date-time"


@cache
def schema() -> dict[str, Any]:
    return json.loads(CONTRACT_PATH.read_text())


@cache
def fields() -> tuple[FieldSpec, ...]:
    doc = schema()
    required = set(doc["required"])
    specs = []
    for name, prop in doc["properties"].items():
        specs.append(
            FieldSpec(
                name=name,
                json_type=prop["type"],
                required=name in required,
                description=prop.get("description", ""),
                format=prop.get("format"),
                enum=tuple(prop["enum"]) if "enum" in prop else None,
                minimum=prop.get("minimum"),
                exclusive_minimum=prop.get("exclusiveMinimum"),
                maximum=prop.get("maximum"),
                min_length=prop.get("minLength"),
                max_length=prop.get("maxLength"),
                pii=prop.get("x-pii", False),
            )
        )
    return tuple(specs)


def field_names() -> list[str]:
    return [f.name for f in fields()]


def schema_versions() -> tuple[int, ...]:
    return next(f.enum for f in fields() if f.name == "schema_version") or ()


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
    raw: bytes, now: datetime | None = None, max_future_skew: timedelta = DEFAULT_MAX_FUTURE_SKEW
) -> str | None:
    """The first contract failure of one Kafka message value, or None when it is valid.

    Same order and codes as the Spark silver job: size, UTF-8, JSON object, then per field in
    contract order missing / wrong type / out of range (and an event_time too far ahead of
    `now`), then the total_amount rule."""
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
    return event_reason(event, now, max_future_skew)


def event_reason(
    event: dict[str, Any],
    now: datetime | None = None,
    max_future_skew: timedelta = DEFAULT_MAX_FUTURE_SKEW,
) -> str | None:
    """The first contract failure of a parsed event, or None when it is valid."""
    now = now or datetime.now(UTC)
    for spec in fields():
        value = event.get(spec.name)
        if value is None:
            if spec.required:
                return f"{Reason.MISSING_FIELD}:{spec.name}"
            continue
        if not _has_json_type(value, spec.json_type) or (
            spec.is_timestamp and parse_event_time(value) is None
        ):
            return f"{Reason.WRONG_TYPE}:{spec.name}"
        if spec.name == "schema_version" and value not in schema_versions():
            return Reason.UNKNOWN_SCHEMA_VERSION
        if _out_of_range(spec, value):
            return f"{Reason.OUT_OF_RANGE}:{spec.name}"
        if spec.is_timestamp and parse_event_time(value) > now + max_future_skew:
            return Reason.FUTURE_EVENT_TIME
    expected = Decimal(str(event["quantity"])) * Decimal(str(event["unit_price"]))
    if abs(Decimal(str(event["total_amount"])) - expected) > TOTAL_AMOUNT_TOLERANCE:
        return Reason.TOTAL_MISMATCH
    return None
