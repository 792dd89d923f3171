"""Silver's contract checks, compiled once from the contract into Spark columns (pure).

Kafka records in; the same records out with the message parsed as a variant, each contract
field typed, and the quarantine reason of the first failing rule (null: valid). Then the valid
ones become typed silver rows (PII hashed) and the failing ones quarantine rows."""

from __future__ import annotations

import functools
import operator
from datetime import UTC, datetime, timedelta

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from lakehouse import contract
from lakehouse.contract import Contract, FieldSpec, ProductCheck, Reason
from lakehouse.settings import Settings

MONEY_TYPE = f"decimal({contract.MONEY_PRECISION},{contract.MONEY_SCALE})"
SPARK_TYPES = {"string": "string", "integer": "int", "number": MONEY_TYPE, "boolean": "boolean"}
KAFKA_COLUMNS = ["kafka_topic", "kafka_partition", "kafka_offset", "kafka_timestamp"]
QUARANTINE_RAW_CHARS = 4096  # how much of an oversized message the quarantine row keeps
DEFAULT_MAX_FUTURE_SKEW_SECONDS: float = Settings.model_fields["max_future_skew_seconds"].default


# Each field is read out of the variant once and typed once, in two projections, and the
# rules then compare plain columns. Reading a field inside every rule that needs it (about
# seventy) cost twice as much per row. Helper columns start with "_" and never reach a table.
def _value(spec: FieldSpec) -> str:
    return f"_value_{spec.name}"


def _kind(spec: FieldSpec) -> str:
    return f"_kind_{spec.name}"


def typed_column(spec: FieldSpec) -> str:
    """The classified record's column holding a field's typed value (null when it does not cast)."""
    return f"_typed_{spec.name}"


def _number(spec: FieldSpec) -> str:
    return f"_number_{spec.name}"


def _text(spec: FieldSpec) -> str:
    return f"_text_{spec.name}"


def _gap(check: ProductCheck) -> str:
    return f"_gap_{check.field}"


def _field_values(specs: tuple[FieldSpec, ...]) -> list[Column]:
    """Projection 1: the payload's kind and each field as a variant."""
    return [F.expr("schema_of_variant(payload)").alias("_kind"),
            *(F.expr(f"variant_get(payload, '$.{s.name}')").alias(_value(s)) for s in specs)]


def _field_types(specs: tuple[FieldSpec, ...], checks: tuple[ProductCheck, ...]) -> list[Column]:
    """Projection 2: each field's JSON kind and its typed value (null when it does not cast),
    and each product check's gap."""
    columns: list[Column] = []
    for spec in specs:
        value = _value(spec)
        columns.append(F.expr(f"schema_of_variant({value})").alias(_kind(spec)))
        if spec.is_timestamp:
            text = f"try_variant_get({value}, '$', 'string')"
            columns.append(F.expr(text).alias(_text(spec)))
            typed = F.expr(f"try_to_timestamp({text})")
        else:
            typed = F.expr(f"try_variant_get({value}, '$', '{SPARK_TYPES[spec.json_type]}')")
        columns.append(typed.alias(typed_column(spec)))
        if spec.json_type in ("integer", "number"):
            columns.append(F.expr(f"try_variant_get({value}, '$', 'double')").alias(_number(spec)))
    def exact(name: str) -> Column:
        return F.expr(f"try_variant_get(_value_{name}, '$', 'decimal(20,4)')")

    for check in checks:
        product = functools.reduce(operator.mul, [exact(name) for name in check.product_of])
        columns.append((exact(check.field) - product).alias(_gap(check)))
    return columns


def _has_type(spec: FieldSpec) -> Column:
    kind = F.col(_kind(spec))
    if spec.json_type == "string":
        ok = kind == "STRING"
    elif spec.json_type == "integer":
        ok = kind == "BIGINT"
    elif spec.json_type == "number":
        ok = kind.isin("BIGINT", "DOUBLE") | kind.startswith("DECIMAL")
    else:
        ok = kind == "BOOLEAN"
    if spec.is_timestamp:  # ISO 8601 with an explicit offset, as the contract asks
        ok = ok & F.col(_text(spec)).rlike(r"(Z|[+-]\d{2}:?\d{2})$") & F.col(typed_column(spec)).isNotNull()
    return ok


def _out_of_range(spec: FieldSpec) -> Column | None:
    value = F.col(typed_column(spec))
    checks: list[Column] = []
    if spec.json_type == "string":
        if spec.min_length is not None:
            checks.append(F.char_length(value) < spec.min_length)
        if spec.max_length is not None:
            checks.append(F.char_length(value) > spec.max_length)
    if spec.json_type in ("integer", "number"):
        number = F.col(_number(spec))
        if spec.minimum is not None:
            checks.append(number < spec.minimum)
        if spec.exclusive_minimum is not None:
            checks.append(number <= spec.exclusive_minimum)
        if spec.maximum is not None:
            checks.append(number > spec.maximum)
    if spec.enum is not None:
        checks.append(~value.isin(*spec.enum))
    return _any(checks) if checks else None


def _any(checks: list[Column]) -> Column:
    return functools.reduce(operator.or_, checks)


def _reason_segments(stream: Contract) -> tuple[list[Column], list[FieldSpec]]:
    """The first contract failure of a message as a reason code, in pieces: one CASE per run of
    rules between two future-time rules, and the timestamp fields whose future-time rule sits
    between them. `reason` = the first non-null of segment 0, future(field 0), segment 1, ...

    Rules in contract order (size, UTF-8, JSON object, then per field missing / wrong type /
    out of range, then the product checks), over the columns `value` (bytes), `payload` (the value
    parsed as a variant) and the two projections above. The future-time rules are left out
    of the heavy CASEs because their horizon changes with every batch: as a literal in the
    generated code it made each batch compile the whole classification anew."""
    segments: list[list[tuple[Column, Column]]] = [[
        (F.octet_length("value") > contract.MAX_MESSAGE_BYTES, F.lit(Reason.OVERSIZED)),
        (~F.expr("is_valid_utf8(value)"), F.lit(Reason.NOT_UTF8)),
        (F.col("payload").isNull() | ~F.col("_kind").startswith("OBJECT"), F.lit(Reason.NOT_JSON)),
    ]]
    timestamps: list[FieldSpec] = []
    for spec in stream.fields:
        rules = segments[-1]
        value = F.col(_value(spec))
        missing = value.isNull() | F.expr(f"is_variant_null({_value(spec)})")
        if spec.required:
            rules.append((missing, F.lit(f"{Reason.MISSING_FIELD}:{spec.name}")))
        present = ~missing
        rules.append((present & ~_has_type(spec), F.lit(f"{Reason.WRONG_TYPE}:{spec.name}")))
        if spec.name == "schema_version":
            rules.append(
                (present & ~F.col(typed_column(spec)).isin(*stream.schema_versions),
                 F.lit(Reason.UNKNOWN_SCHEMA_VERSION))
            )
        out_of_range = _out_of_range(spec)
        if out_of_range is not None:
            rules.append((present & out_of_range, F.lit(f"{Reason.OUT_OF_RANGE}:{spec.name}")))
        if spec.is_timestamp:
            timestamps.append(spec)
            segments.append([])
    segments[-1].extend(
        (F.abs(F.col(_gap(check))) > F.lit(check.tolerance), F.lit(check.reason)) for check in stream.checks
    )
    return [_first_of(rules) if rules else F.lit(None).cast("string") for rules in segments], timestamps


def _first_of(rules: list[tuple[Column, Column]]) -> Column:
    reason = F.when(*rules[0])
    for condition, code in rules[1:]:
        reason = reason.when(condition, code)
    return reason


def _segment(i: int) -> str:
    return f"_reason_{i}"


def batch_horizon(max_future_skew_seconds: float, now: datetime | None = None) -> datetime:
    """The latest event time a batch accepts: its start plus the allowed clock skew."""
    return (now or datetime.now(UTC)) + timedelta(seconds=max_future_skew_seconds)


class ContractCheck:
    """A stream's contract as Spark columns, built once per job: building the few hundred column
    expressions takes about half a second, which every micro-batch would pay again."""

    def __init__(self, stream: Contract) -> None:
        self.stream = stream
        specs = stream.fields
        small_utf8 = (F.octet_length("value") <= contract.MAX_MESSAGE_BYTES) & F.expr(
            "is_valid_utf8(value)"
        )
        self.record = [
            F.col("topic").alias("kafka_topic"),
            F.col("partition").alias("kafka_partition"),
            F.col("offset").alias("kafka_offset"),
            F.col("key").cast("string").alias("kafka_key"),
            F.col("timestamp").alias("kafka_timestamp"),
            F.col("value"),
            F.when(small_utf8, F.expr("try_parse_json(cast(value as string))")).alias("payload"),
        ]
        self.values = _field_values(specs)
        self.types = _field_types(specs, stream.checks)
        segments, self.timestamps = _reason_segments(stream)
        self.segments = [column.alias(_segment(i)) for i, column in enumerate(segments)]
        self.scratch = ["_kind", *(_gap(check) for check in stream.checks), *(
            name for spec in specs for name in (_value(spec), _kind(spec), _number(spec), _text(spec)))]

    def check(self, kafka_records: DataFrame) -> DataFrame:
        """Kafka records -> the same records with `payload` (variant), each field typed
        (`_typed_<field>`, null when it does not cast) and the reason's pieces: the heavy part,
        the same plan for every batch. `with_reason` finishes it."""
        checked = (
            kafka_records.select(*self.record)
            .select("*", *self.values)
            .select("*", *self.types)
            .select("*", *self.segments)
        )
        # The batch is kept (`materialized`): keep only what the writes read (the variants are wide).
        return checked.drop(*self.scratch)

    def with_reason(self, checked: DataFrame, horizon: datetime) -> DataFrame:
        """`check`'s output with `reason` (null = valid): the pieces in contract order, the
        future-time rules against `horizon`, the batch's pinned limit."""
        pieces: list[Column] = [F.col(_segment(0))]
        for i, spec in enumerate(self.timestamps, start=1):
            pieces.append(F.when(F.col(typed_column(spec)) > F.lit(horizon), F.lit(Reason.FUTURE_EVENT_TIME)))
            pieces.append(F.col(_segment(i)))
        return checked.withColumn("reason", F.coalesce(*pieces)).drop(
            *(_segment(i) for i in range(len(self.segments))))


def classify(
    kafka_records: DataFrame,
    max_future_skew_seconds: float = DEFAULT_MAX_FUTURE_SKEW_SECONDS,
    stream: Contract | None = None,
) -> DataFrame:
    """Kafka records -> the same records with `payload` (variant) and `reason` (null = valid)."""
    check = ContractCheck(stream or contract.contract())
    return check.with_reason(check.check(kafka_records), batch_horizon(max_future_skew_seconds))


def to_silver_rows(classified: DataFrame, pii_salt: str, stream: Contract | None = None) -> DataFrame:
    """Valid classified records -> typed silver rows; PII fields hashed (`<name>_sha256`)."""
    columns = []
    for spec in (stream or contract.contract()).fields:
        value = F.col(typed_column(spec))
        if spec.pii:
            columns.append(F.sha2(F.concat(F.lit(pii_salt), value), 256).alias(spec.silver_name))
        else:
            columns.append(value.alias(spec.name))
    return classified.where(F.col("reason").isNull()).select(
        *columns, *KAFKA_COLUMNS, F.current_timestamp().alias("ingested_at")
    )


def to_quarantine_rows(classified: DataFrame, stream: Contract | None = None) -> DataFrame:
    """Failing classified records -> quarantine rows: reason, coordinates, the message's key
    (`event_id`, when it reads) and the raw message."""
    key = (stream or contract.contract()).key
    utf8 = F.expr("is_valid_utf8(value)")
    return classified.where(F.col("reason").isNotNull()).select(
        F.col("reason"),
        *KAFKA_COLUMNS,
        F.col("kafka_key"),
        F.expr(f"try_variant_get(payload, '$.{key}', 'string')").alias("event_id"),
        F.when(utf8, F.substring(F.col("value").cast("string"), 1, QUARANTINE_RAW_CHARS)).alias(
            "raw_value"
        ),
        F.when(~utf8, F.base64(F.substring("value", 1, QUARANTINE_RAW_CHARS))).alias(
            "raw_value_base64"
        ),
        F.octet_length("value").alias("raw_bytes"),
        F.current_timestamp().alias("quarantined_at"),
    )
