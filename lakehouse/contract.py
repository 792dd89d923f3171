"""The streams' contracts, one JSON Schema per stream in contracts/<stream>.schema.json.

A stream is its contract: the file's name is the stream's name, its Kafka topic and its silver
tables' name, and the schema's `x-stream` block says which field is the deduplication key, which
the event time, which the Kafka message key, and which checks beyond a field's own limits apply.
This module turns a contract into the field specs, limits and quarantine reason codes that the
producer, the silver job's checks (spark_jobs.contract_checks) and the dbt docs' tests share."""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from lakehouse.settings import CONTRACT_SUFFIX, CONTRACTS_DIR, SILVER_NAMESPACE

PURCHASES = "purchases"
# Messages larger than this are quarantined unread (a purchase event is well under 1 KiB).
MAX_MESSAGE_BYTES = 64 * 1024
# Numbers are typed as decimal(precision, scale) in silver and gold.
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

    @property
    def silver_name(self) -> str:
        """The field's silver column: a PII field is stored only as its salted hash."""
        return f"{self.name}_sha256" if self.pii else self.name


@dataclass(frozen=True)
class ProductCheck:
    """`field` must equal the product of `product_of` within `tolerance`, else `reason`."""

    reason: str
    field: str
    product_of: tuple[str, ...]
    tolerance: Decimal


@dataclass(frozen=True)
class Contract:
    name: str  # the stream: its topic and its silver tables are named after it
    title: str
    description: str
    fields: tuple[FieldSpec, ...]
    key: str  # the deduplication key
    event_time: str
    message_key: str  # the field producers use as the Kafka message key
    checks: tuple[ProductCheck, ...]
    doc: dict[str, Any]

    def field(self, name: str) -> FieldSpec:
        return next(spec for spec in self.fields if spec.name == name)

    @property
    def schema_versions(self) -> tuple[int, ...]:
        return self.field("schema_version").enum or ()

    @property
    def silver_table(self) -> str:
        return f"{SILVER_NAMESPACE}.{self.name}"

    @property
    def quarantine_table(self) -> str:
        return f"{SILVER_NAMESPACE}.{self.name}_quarantine"

    @property
    def batches_table(self) -> str:
        return f"{SILVER_NAMESPACE}.{self.name}_batches"

    @property
    def tables(self) -> tuple[str, str, str]:
        return self.silver_table, self.quarantine_table, self.batches_table


def parse(path: Path) -> Contract:
    doc = json.loads(path.read_text())
    stream = doc["x-stream"]
    required = set(doc["required"])
    specs = tuple(
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
        for name, prop in doc["properties"].items()
    )
    checks = tuple(ProductCheck(check["reason"], check["field"], tuple(check["product_of"]),
                                Decimal(str(check["tolerance"])))
                   for check in stream.get("checks", []))
    return Contract(name=path.name.removesuffix(CONTRACT_SUFFIX), title=doc["title"],
                    description=doc["description"], fields=specs, key=stream["key"],
                    event_time=stream["event_time"], message_key=stream["message_key"],
                    checks=checks, doc=doc)


@cache
def contracts() -> dict[str, Contract]:
    """Every stream's contract by stream name, purchases first, then by name."""
    found = {path.name.removesuffix(CONTRACT_SUFFIX): parse(path)
             for path in sorted(CONTRACTS_DIR.glob(f"*{CONTRACT_SUFFIX}"))}
    return {name: found[name] for name in sorted(found, key=lambda n: (n != PURCHASES, n))}


def contract(stream: str = PURCHASES) -> Contract:
    try:
        return contracts()[stream]
    except KeyError:
        raise ValueError(f"no contract for stream {stream!r}: the streams are "
                         f"{', '.join(contracts())} (contracts/<stream>{CONTRACT_SUFFIX})") from None


def stream_names() -> tuple[str, ...]:
    return tuple(contracts())


# The purchase stream's contract, which the purchase producer, gold and ML are written for.
def schema() -> dict[str, Any]:
    return contract(PURCHASES).doc


def fields() -> tuple[FieldSpec, ...]:
    return contract(PURCHASES).fields


def schema_versions() -> tuple[int, ...]:
    return contract(PURCHASES).schema_versions
