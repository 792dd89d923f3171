"""Every stream is a contract and a generator profile: the contracts are sound JSON Schema with
what silver needs, and each profile's messages are what they claim to be (pure, no JVM)."""

import json
from collections import Counter
from datetime import datetime, timedelta

import jsonschema
import pytest
from contract_oracle import quarantine_reason

from lakehouse.contract import PURCHASES, contract, contracts, stream_names
from lakehouse.settings import Settings
from producer.events import GeneratorOptions
from producer.streams import LATE_BY, malformed_kinds, messages

OTHERS = [name for name in stream_names() if name != PURCHASES]
OPTIONS = GeneratorOptions(count=4000, seed=7, malformed_share=0.03, duplicate_share=0.03, late_share=0.03)


def test_the_six_streams_are_the_contracts_in_contracts_folder():
    assert stream_names() == ("purchases", "api_logs", "clickstream", "financial_transactions",
                              "iot_sensors", "social_mentions")


@pytest.mark.parametrize("name", stream_names())
def test_a_contract_is_json_schema_with_its_key_time_and_message_key_required(name):
    stream = contract(name)
    jsonschema.Draft202012Validator.check_schema(stream.doc)
    required = {spec.name for spec in stream.fields if spec.required}
    assert {stream.key, stream.event_time, stream.message_key, "schema_version"} <= required
    assert stream.field(stream.event_time).is_timestamp
    assert stream.tables == (f"silver.{name}", f"silver.{name}_quarantine", f"silver.{name}_batches")
    for check in stream.checks:
        assert {check.field, *check.product_of} <= {spec.name for spec in stream.fields}


def test_each_stream_has_its_own_topic_behind_the_prefix():
    settings = Settings(topic_prefix="t1_")
    assert settings.topic == "t1_purchases"
    assert [settings.for_stream(name).topic for name in OTHERS] == [f"t1_{name}" for name in OTHERS]
    assert len({settings.for_stream(name).checkpoint_dir("silver") for name in stream_names()}) == 6
    assert Settings(topic="mine").for_stream(PURCHASES).topic == "mine"


@pytest.mark.parametrize("name", OTHERS)
def test_a_profile_sends_valid_late_duplicate_and_malformed_messages_as_labelled(name):
    stream = contract(name)
    sent = list(messages(name, OPTIONS))
    assert len(sent) == OPTIONS.count
    kinds = Counter(m.kind for m in sent)
    for kind in ("malformed", "duplicate", "late"):
        assert 0.02 * OPTIONS.count < kinds[kind] < 0.045 * OPTIONS.count, (kind, kinds)
    validator = jsonschema.Draft202012Validator(
        stream.doc, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    first_copy = {}
    for m in sent:
        if m.kind in ("valid", "late"):
            event = json.loads(m.value)
            validator.validate(event)
            assert quarantine_reason(m.value, stream=name) is None
            assert m.key == str(event[stream.message_key]).encode() and m.event_id == event[stream.key]
            assert m.event_id not in first_copy
            first_copy[m.event_id] = m.value
        elif m.kind == "duplicate":  # the very bytes of an earlier message
            assert first_copy[m.event_id] == m.value
        else:  # the oracle, reading the contract on its own, gives the reason the message claims
            assert quarantine_reason(m.value, stream=name) == m.label
    assert {m.label for m in sent if m.kind == "malformed"} == set(malformed_kinds(stream))
    assert list(messages(name, OPTIONS))[:100] == sent[:100]  # seeded


def test_a_late_message_is_hours_behind_the_messages_before_it():
    latest, lates = None, 0
    for m in messages("iot_sensors", OPTIONS):
        if m.kind not in ("valid", "late"):
            continue
        event_time = datetime.fromisoformat(json.loads(m.value)["event_time"])
        if m.kind == "late":
            lates += 1
            assert latest - event_time >= LATE_BY[0] - timedelta(minutes=5)
        else:
            latest = event_time
    assert lates > 0.02 * OPTIONS.count


@pytest.mark.parametrize(("name", "action"), [("clickstream", "purchase"), ("financial_transactions", None)])
def test_sessions_and_payments_carry_the_ids_of_purchases_of_the_same_sequence(name, action):
    purchases = {m.event_id: json.loads(m.value) for m in messages(PURCHASES, OPTIONS)
                 if m.kind in ("valid", "anomaly")}
    linked = [json.loads(m.value) for m in messages(name, OPTIONS) if m.kind == "valid"]
    linked = [event for event in linked if "purchase_id" in event]
    assert len(linked) > 0.05 * OPTIONS.count
    for event in linked:
        purchase = purchases[event["purchase_id"]]
        if action:  # the click that completes a purchase: same customer and product
            assert event["action"] == action
            assert event["customer_id"] == purchase["customer_id"]
            assert event["product_id"] == purchase["product_id"]
        else:  # the payment: the purchase's amount and currency, from the customer's account
            assert event["amount"] == purchase["total_amount"]
            assert event["currency"] == purchase["currency"]
            assert event["account_id"] == f"acct-{purchase['customer_id']}"


def test_a_clickstream_session_walks_the_funnel_in_order():
    sessions = {}
    for m in messages("clickstream", GeneratorOptions(count=4000, seed=7)):  # none broken or late
        if m.kind == "valid":
            event = json.loads(m.value)
            sessions.setdefault(event["session_id"], []).append(event)
    funnel = ["view", "add_to_cart", "checkout", "purchase"]
    for clicks in sessions.values():
        steps = [c["action"] for c in clicks if c["page"] not in ("home", "search", "category")]
        assert steps == funnel[:len(steps)]
        assert [c["event_time"] for c in clicks] == sorted(c["event_time"] for c in clicks)
    assert len(contracts()) == 6


def test_a_stream_without_a_contract_is_refused_with_the_known_ones():
    with pytest.raises(ValueError, match="no contract contracts/nope.schema.json"):
        Settings(stream="nope")
    with pytest.raises(ValueError, match="the streams are purchases, api_logs"):
        contract("nope")
