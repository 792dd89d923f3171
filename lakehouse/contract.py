"""The purchase event contract, read from contracts/purchase_event.schema.json.

The JSON Schema is the one source; this module turns it into the field specs, limits and
quarantine reason codes that the producer, the silver job's checks (spark_jobs.contract_checks)
and the dbt docs' tests share."""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from typing import Any

from lakehouse.settings import CONTRACT_PATH

# Messages larger than this are quarantined unread (a purchase event is well under 1 KiB).
MAX_MESSAGE_BYTES = 64 * 1024
# total_amount must equal quantity * unit_price within this many currency units.
TOTAL_AMOUNT_TOLERANCE = Decimal("0.01")
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


def schema_versions() -> tuple[int, ...]:
    return next(f.enum for f in fields() if f.name == "schema_version") or ()
