import json
from decimal import Decimal

import jsonschema
import pytest
from contract_oracle import event_reason, quarantine_reason

from lakehouse import contract
from lakehouse.contract import Reason
from producer.events import MALFORMED_KINDS, GeneratorOptions, encode, generate


def valid_event() -> dict:
    message = next(m for m in generate(GeneratorOptions(count=5, seed=1)) if m.kind == "valid")
    return json.loads(message.value)


def test_the_schema_file_is_valid_json_schema():
    jsonschema.Draft202012Validator.check_schema(contract.schema())


def test_fields_follow_the_schema_file():
    names = [spec.name for spec in contract.fields()]
    assert names[:3] == ["event_id", "event_time", "customer_id"]
    assert set(contract.schema()["required"]) < set(names)
    assert [f.name for f in contract.fields() if not f.required] == ["coupon_code"]
    assert [f.name for f in contract.fields() if f.pii] == ["customer_name", "customer_email"]


def test_a_generated_event_passes_both_jsonschema_and_our_check():
    event = valid_event()
    jsonschema.validate(event, contract.schema(),
                        format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    assert event_reason(event) is None


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda e: e.pop("event_id"), "missing_field:event_id"),
        (lambda e: e.update(customer_id=None), "missing_field:customer_id"),
        (lambda e: e.update(quantity="2"), "wrong_type:quantity"),
        (lambda e: e.update(quantity=2.0), "wrong_type:quantity"),
        (lambda e: e.update(is_member="yes"), "wrong_type:is_member"),
        (lambda e: e.update(event_time="yesterday"), "wrong_type:event_time"),
        (lambda e: e.update(event_time="2026-01-01T10:00:00"), "wrong_type:event_time"),
        (lambda e: e.update(quantity=0), "out_of_range:quantity"),
        (lambda e: e.update(unit_price=0), "out_of_range:unit_price"),
        (lambda e: e.update(currency="XYZ"), "out_of_range:currency"),
        (lambda e: e.update(country="USA"), "out_of_range:country"),
        (lambda e: e.update(schema_version=3), Reason.UNKNOWN_SCHEMA_VERSION),
        (lambda e: e.update(coupon_code=10), "wrong_type:coupon_code"),
        (lambda e: e.update(coupon_code=""), "out_of_range:coupon_code"),
        (lambda e: e.update(total_amount=e["total_amount"] + 1), Reason.TOTAL_MISMATCH),
    ],
)
def test_each_contract_failure_has_its_reason(change, reason):
    event = valid_event()
    change(event)
    assert event_reason(event) == reason


def test_the_optional_field_may_be_missing_or_present():
    event = valid_event()
    event.pop("coupon_code", None)
    assert event_reason(event) is None
    event["coupon_code"] = "SPRING10"
    assert event_reason(event) is None


def test_first_failure_in_contract_order_wins():
    event = valid_event()
    event.pop("customer_id")
    event["quantity"] = "x"
    assert event_reason(event) == "missing_field:customer_id"


def test_total_within_tolerance_is_valid():
    event = valid_event()
    event["total_amount"] = float(Decimal(str(event["total_amount"])) + Decimal("0.01"))
    assert event_reason(event) is None


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"\xff\xfe{}", Reason.NOT_UTF8),
        (b"{not json", Reason.NOT_JSON),
        (b"[1, 2]", Reason.NOT_JSON),
        (b"x" * (contract.MAX_MESSAGE_BYTES + 1), Reason.OVERSIZED),
    ],
)
def test_raw_message_failures(raw, reason):
    assert quarantine_reason(raw) == reason


def test_every_malformed_kind_the_producer_sends_earns_its_reason():
    options = GeneratorOptions(count=800, seed=3, malformed_share=0.2)
    malformed = [m for m in generate(options) if m.kind == "malformed"]
    assert {m.label for m in malformed} == set(MALFORMED_KINDS)
    for message in malformed:
        assert quarantine_reason(message.value) == message.label


def test_valid_messages_pass_byte_for_byte():
    for message in generate(GeneratorOptions(count=300, seed=4, anomaly_share=0.1)):
        assert quarantine_reason(message.value) is None
        assert quarantine_reason(encode(json.loads(message.value))) is None
