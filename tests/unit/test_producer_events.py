import json
from collections import Counter

from producer.events import (
    OUTLIER_QUANTITY,
    SPIKE_FACTOR,
    GeneratorOptions,
    generate,
)


def test_same_seed_same_messages_byte_for_byte():
    options = GeneratorOptions(count=500, seed=11, malformed_share=0.05, duplicate_share=0.05)
    first = [(m.key, m.value) for m in generate(options)]
    second = [(m.key, m.value) for m in generate(options)]
    assert first == second


def test_a_prefix_of_the_sequence_is_the_same_messages():
    long = list(generate(GeneratorOptions(count=300, seed=5)))
    short = list(generate(GeneratorOptions(count=300, seed=5)))[:100]
    assert [m.event_id for m in short] == [m.event_id for m in long[:100]]


def test_shares_are_roughly_respected():
    options = GeneratorOptions(count=20_000, seed=2, anomaly_share=0.01, malformed_share=0.02,
                               duplicate_share=0.03)
    kinds = Counter(m.kind for m in generate(options))
    assert 0.02 < kinds["duplicate"] / options.count < 0.04
    assert 0.01 < kinds["malformed"] / options.count < 0.03
    assert 0.005 < kinds["anomaly"] / options.count < 0.015
    assert sum(kinds.values()) == options.count


def test_keys_are_customer_ids_and_labels_never_travel():
    for message in generate(GeneratorOptions(count=400, seed=9, anomaly_share=0.2)):
        if message.kind in ("valid", "anomaly"):
            event = json.loads(message.value)
            assert message.key.decode() == event["customer_id"]
            assert "pattern" not in event and "is_anomaly" not in event


def test_duplicates_repeat_an_earlier_message_exactly():
    messages = list(generate(GeneratorOptions(count=2000, seed=8, duplicate_share=0.05)))
    seen = set()
    for message in messages:
        if message.kind == "duplicate":
            assert (message.key, message.value) in seen
        seen.add((message.key, message.value))


def test_anomalies_have_documented_magnitudes():
    messages = list(generate(GeneratorOptions(count=5000, seed=6, anomaly_share=0.05)))
    usual_price = {}
    for m in messages:
        if m.kind == "valid":
            event = json.loads(m.value)
            usual_price[event["product_id"]] = event["unit_price"]
    for m in messages:
        if m.kind != "anomaly":
            continue
        event = json.loads(m.value)
        if m.label == "quantity_outlier":
            assert OUTLIER_QUANTITY[0] <= event["quantity"] <= OUTLIER_QUANTITY[1]
        elif event["product_id"] in usual_price:
            ratio = event["unit_price"] / usual_price[event["product_id"]]
            assert SPIKE_FACTOR[0] * 0.99 <= ratio <= SPIKE_FACTOR[1] * 1.01
