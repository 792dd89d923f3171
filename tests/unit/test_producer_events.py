import json
import random
import statistics
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from contract_oracle import quarantine_reason

from lakehouse.ground_truth import ANOMALY_PATTERNS
from producer.events import (
    BIG_TICKET_CATEGORIES,
    BURST_SIZE,
    BURST_WINDOW,
    CURRENCY_OF,
    GEO_JUMP_WITHIN,
    OUTLIER_QUANTITY,
    RARE_COMBOS,
    SPIKE_FACTOR,
    SPIKE_QUANTITY,
    UNUSUAL_HOUR_DISTANCE,
    USUAL_GAP,
    USUAL_HOURS_SPREAD,
    GeneratorOptions,
    build_customers,
    build_products,
    generate,
    hour_distance,
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


# A fixed end: the generated sequence follows its end time (which customers buy, and when), so
# with the default (this hour) the stream, and what these tests see, changed every hour. This
# hour's stream holds an amount spike for a customer no product is dear enough for (below).
OPTIONS = GeneratorOptions(count=6000, seed=6, anomaly_share=0.05,
                           end_time=datetime(2026, 11, 24, 1, tzinfo=UTC))


@pytest.fixture(scope="module")
def stream():
    """The messages of OPTIONS as parsed purchases, with the generator's customers and products."""
    rng = random.Random(OPTIONS.seed)  # generate() draws the customers, then the products, first
    customers = {c.customer_id: c for c in build_customers(rng, OPTIONS.customers, OPTIONS.seed)}
    products = {p.product_id: p for p in build_products(rng, OPTIONS.products, OPTIONS.seed)}
    purchases = [(m, json.loads(m.value)) for m in generate(OPTIONS)]
    return purchases, customers, products


def of(stream, pattern):
    return [event for m, event in stream[0] if m.label == pattern]


def usual(stream):
    return [event for m, event in stream[0] if m.kind == "valid"]


def when(event):
    return datetime.fromisoformat(event["event_time"])


def test_the_anomaly_share_is_kept_closely_and_shared_evenly_by_the_patterns():
    for share in (0.005, 0.01, 0.02):
        messages = list(generate(GeneratorOptions(count=10_000, seed=3, anomaly_share=share)))
        patterns = Counter(m.label for m in messages if m.kind == "anomaly")
        assert abs(sum(patterns.values()) - share * 10_000) <= BURST_SIZE[1]
        assert set(patterns) == set(ANOMALY_PATTERNS)
        assert max(patterns.values()) - min(patterns.values()) <= BURST_SIZE[1] + 1


def test_every_injected_event_passes_the_contract(stream):
    anomalies = [m for m, _ in stream[0] if m.kind == "anomaly"]
    assert len(anomalies) > 250
    assert all(quarantine_reason(m.value) is None for m in anomalies)


def test_usual_purchases_follow_the_customers_habits(stream):
    _, customers, _ = stream
    last: dict[str, datetime] = {}
    for event in usual(stream):
        customer = customers[event["customer_id"]]
        assert hour_distance(when(event).hour, customer.usual_hour) <= USUAL_HOURS_SPREAD
        assert event["country"] == customer.country
        if event["payment_method"] == "bank_transfer":
            assert event["category"] in BIG_TICKET_CATEGORIES
        if customer.customer_id in last:
            assert when(event) - last[customer.customer_id] >= USUAL_GAP
        last[customer.customer_id] = when(event)


def test_an_amount_spike_is_5_to_20_times_the_customers_median_spend(stream):
    _, _, products = stream
    dearest = max(products.values(), key=lambda p: (p.unit_price, p.product_id))
    spend: dict[str, list[Decimal]] = defaultdict(list)
    checked = more_units = 0
    for m, event in stream[0]:
        amount = Decimal(str(event["total_amount"]))
        if m.label == "amount_spike" and spend[event["customer_id"]]:
            median = statistics.median(spend[event["customer_id"]])
            assert SPIKE_FACTOR[0] <= amount / median <= SPIKE_FACTOR[1]
            if event["quantity"] > SPIKE_QUANTITY[1]:
                # only when even SPIKE_QUANTITY units of the dearest product fall short
                assert event["product_id"] == dearest.product_id
                assert dearest.unit_price * SPIKE_QUANTITY[1] < median * Decimal(SPIKE_FACTOR[0])
                more_units += 1
            else:
                assert event["quantity"] >= SPIKE_QUANTITY[0]
            checked += 1
        if m.kind in ("valid", "anomaly"):
            spend[event["customer_id"]].append(amount)
    assert checked >= 40
    assert more_units >= 1  # OPTIONS' stream holds one: the rule above is exercised


def test_spikes_buy_catalog_products_at_their_catalog_price(stream):
    _, _, products = stream
    for event in of(stream, "amount_spike"):
        assert Decimal(str(event["unit_price"])) == products[event["product_id"]].unit_price


def test_a_burst_is_5_to_15_purchases_by_one_customer_within_10_minutes(stream):
    bursts, previous = [], None
    for m, event in stream[0]:
        if m.label == "burst":
            if previous is None or previous.label != "burst":
                bursts.append([])
            bursts[-1].append(event)
        previous = m
    assert len(bursts) >= 3
    for burst in bursts[:-1]:  # the last may be cut short by the count
        assert BURST_SIZE[0] <= len(burst) <= BURST_SIZE[1]
        assert len({e["customer_id"] for e in burst}) == 1
        assert when(burst[-1]) - when(burst[0]) < BURST_WINDOW


def test_an_unusual_hour_is_far_from_the_customers_usual_hour(stream):
    _, customers, _ = stream
    events = of(stream, "unusual_hour")
    assert len(events) >= 40
    for event in events:
        usual_hour = customers[event["customer_id"]].usual_hour
        assert hour_distance(when(event).hour, usual_hour) >= UNUSUAL_HOUR_DISTANCE


def test_a_geo_jump_comes_from_abroad_soon_after_a_purchase_from_home(stream):
    purchases, customers, _ = stream
    from_home: dict[str, list[datetime]] = defaultdict(list)
    for m, event in purchases:
        customer = customers[event["customer_id"]]
        if m.label == "geo_jump":
            assert event["country"] != customer.country
            assert event["currency"] == CURRENCY_OF[event["country"]]
            if when(event) - when(purchases[0][1]) > GEO_JUMP_WITHIN:
                assert any(when(event) - GEO_JUMP_WITHIN <= t <= when(event)
                           for t in from_home[customer.customer_id])
        elif m.kind in ("valid", "anomaly") and event["country"] == customer.country:
            from_home[customer.customer_id].append(when(event))


def test_a_rare_combo_is_one_usual_purchases_never_make(stream):
    usual_combos = {(e["category"], e["payment_method"]) for e in usual(stream)}
    events = of(stream, "rare_combo")
    assert len(events) >= 40
    for event in events:
        combo = (event["category"], event["payment_method"])
        assert combo in RARE_COMBOS and combo not in usual_combos


def test_a_quantity_outlier_buys_20_to_60_units(stream):
    events = of(stream, "quantity_outlier")
    assert len(events) >= 40
    assert all(OUTLIER_QUANTITY[0] <= e["quantity"] <= OUTLIER_QUANTITY[1] for e in events)
    assert all(e["quantity"] <= 3 for e in usual(stream))


def test_event_times_span_the_days_asked_for():
    end = datetime.fromisoformat("2026-01-05T00:00:00+00:00")
    messages = list(generate(GeneratorOptions(count=300, seed=1, end_time=end)))
    times = [when(json.loads(m.value)) for m in messages]
    assert max(times) <= end + BURST_WINDOW and min(times) >= end - timedelta(days=7)


def test_version_2_events_carry_the_optional_coupon_on_a_share_of_purchases():
    from contract_oracle import quarantine_reason

    from producer.events import COUPONS, SCHEMA_VERSION

    messages = [m for m in generate(GeneratorOptions(count=3000, seed=12)) if m.kind == "valid"]
    events = [json.loads(m.value) for m in messages]
    assert SCHEMA_VERSION == 2 and all(e["schema_version"] == 2 for e in events)
    with_coupon = [e for e in events if "coupon_code" in e]
    assert 0.07 < len(with_coupon) / len(events) < 0.13
    assert {e["coupon_code"] for e in with_coupon} <= set(COUPONS)
    assert all(quarantine_reason(m.value) is None for m in messages)


def test_with_a_clock_no_event_lies_in_the_future_and_bursts_still_come_within_their_window():
    """Live mode stamps events with the clock; a burst's later purchases wait for their time
    (sent at once they lay up to 10 minutes ahead, and silver quarantined them as future)."""
    now = [datetime(2026, 12, 1, 12, tzinfo=UTC)]
    options = GeneratorOptions(seed=3, anomaly_share=0.1, clock=lambda: now[0])
    by_customer: dict[str, list[datetime]] = defaultdict(list)
    for i, message in zip(range(3000), generate(options), strict=False):
        now[0] += timedelta(seconds=1)
        if message.kind != "malformed":
            event_time = datetime.fromisoformat(json.loads(message.value)["event_time"])
            assert event_time <= now[0], (i, message.label, event_time, now[0])
        if message.label == "burst":
            by_customer[json.loads(message.value)["customer_id"]].append(event_time)
    full = [times for times in by_customer.values() if len(times) >= BURST_SIZE[0]]
    assert len(full) >= 3
    for times in full:
        assert times == sorted(times)
