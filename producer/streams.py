"""Generator profiles of the streams beside purchases: IoT sensors, API logs, social mentions,
clickstream and financial transactions. Pure: the same seed and options give the same messages.

Every profile draws valid events; what makes a stream realistic is shared here: a share of
messages re-sent as they were (`duplicate`), sent with an event time hours behind their
neighbours (`late`, which silver keeps: lateness is the speed layer's business), and broken in
one way that earns a known quarantine reason (`malformed`), chosen from the stream's contract.

Clickstream sessions and financial transactions tie to purchases: they are drawn along the
purchase sequence of the same seed, count, days and end time (producer.events), so a session
that ends in a purchase and the payment of a purchase carry that purchase's event_id."""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

from faker import Faker

from lakehouse.contract import MAX_MESSAGE_BYTES, PURCHASES, Contract, Reason, contract
from producer.events import (
    CURRENCY_OF,
    GeneratorOptions,
    Message,
    _money,
    draw_event_id,
    encode,
    generate,
    stamp,
)

LATE_BY = (timedelta(hours=1), timedelta(hours=12))  # a late event's time is this far behind

# IoT: each metric's unit and its normal range; out-of-range readings are rare but real.
METRICS = {"temperature": ("celsius", 2.0, 8.0), "humidity": ("percent", 30.0, 60.0),
           "pressure": ("hpa", 980.0, 1040.0), "vibration": ("mm_s", 0.0, 7.0)}
OUT_OF_NORMAL_SHARE = 0.03
SITES = ("warehouse-north", "warehouse-south", "store-london", "store-paris", "store-berlin")

# API logs: endpoints per service, their median latency (ms) and error shares.
ENDPOINTS = {
    "catalog": (("GET", "/products"), ("GET", "/products/{id}"), ("GET", "/categories")),
    "search": (("GET", "/search"), ("GET", "/suggest")),
    "cart": (("GET", "/cart"), ("POST", "/cart/items"), ("DELETE", "/cart/items/{id}")),
    "checkout": (("POST", "/checkout"), ("PUT", "/checkout/address")),
    "payments": (("POST", "/payments"), ("GET", "/payments/{id}")),
    "accounts": (("POST", "/login"), ("GET", "/me"), ("PUT", "/me")),
}
MEDIAN_LATENCY_MS = {"catalog": 40, "search": 90, "cart": 35, "checkout": 180, "payments": 350,
                     "accounts": 60}
SERVER_ERROR_SHARE, CLIENT_ERROR_SHARE = 0.01, 0.04

PLATFORMS = ("x", "instagram", "tiktok", "reddit", "facebook")
POSITIVE = ("love", "great", "works perfectly", "best purchase", "recommend")
NEGATIVE = ("broke after a week", "disappointed", "never again", "overpriced", "late delivery")

# Clickstream: sessions along the purchase sequence. A purchase is completed through a session
# with this chance; abandoned sessions (browsing only, or leaving at the cart or the checkout)
# fill the rest, so that the stream sends one message per purchase on average and spans the
# purchases' days. A session's clicks are this far apart.
PURCHASE_SESSION_SHARE = 0.1
SESSION_STEP = (timedelta(seconds=20), timedelta(minutes=4))

# Financial transactions: the shop's payments for purchases (this share of them), and other
# movements on accounts filling the rest, one message per purchase on average.
PAYMENT_SHARE = 0.5
LARGE_TRANSFER_SHARE = 0.01  # of the other movements, a transfer of 10,000 or more
CHANNEL_OF_PAYMENT = {"credit_card": "card", "debit_card": "card", "paypal": "wallet",
                      "apple_pay": "wallet", "bank_transfer": "bank_transfer"}


def malformed_kinds(stream: Contract) -> tuple[str, ...]:
    """The reasons a stream's malformed messages earn, from its contract: each is the first
    rule the broken message fails."""
    fields = [spec for spec in stream.fields if spec.name not in (stream.key, stream.event_time)]
    required = next(spec for spec in fields if spec.required and spec.name != "schema_version")
    # A number with limits breaks best; a stream without one (clickstream) has an enum.
    limited = next(spec for spec in fields if spec.name != "schema_version" and (
        spec.maximum is not None or spec.enum is not None))
    return (Reason.NOT_JSON, f"{Reason.MISSING_FIELD}:{required.name}",
            f"{Reason.WRONG_TYPE}:{limited.name}", f"{Reason.OUT_OF_RANGE}:{limited.name}",
            Reason.UNKNOWN_SCHEMA_VERSION, Reason.NOT_UTF8, Reason.OVERSIZED)


def broken(stream: Contract, event: dict[str, Any], reason: str) -> bytes:
    """`event` broken in exactly one way, earning `reason` (one of `malformed_kinds`)."""
    bad = dict(event)
    code, _, name = reason.partition(":")
    if reason == Reason.NOT_JSON:
        return encode(bad)[:-7]
    if reason == Reason.NOT_UTF8:
        return b"\xff\xfe" + encode(bad)[2:]
    if reason == Reason.OVERSIZED:
        bad["padding"] = "x" * MAX_MESSAGE_BYTES
    elif code == Reason.MISSING_FIELD:
        del bad[name]
    elif code == Reason.WRONG_TYPE:
        bad[name] = 3 if stream.field(name).json_type == "string" else "three"
    elif code == Reason.OUT_OF_RANGE:
        spec = stream.field(name)
        bad[name] = f"not-{bad[name]}" if spec.enum is not None else spec.maximum + 1
    elif reason == Reason.UNKNOWN_SCHEMA_VERSION:
        bad["schema_version"] = max(stream.schema_versions) + 98
    else:
        raise ValueError(f"no malformed {stream.name} message for reason {reason!r}")
    return encode(bad)


Draw = Callable[[random.Random, Faker, datetime], dict[str, Any]]


def iot_reading(rng: random.Random, fake: Faker, at: datetime) -> dict[str, Any]:
    device = rng.randrange(40)
    metric = list(METRICS)[device % len(METRICS)]
    unit, low, high = METRICS[metric]
    if rng.random() < OUT_OF_NORMAL_SHARE:
        off = rng.uniform(1, 5) * (high - low) / 4
        value = rng.choice((low - off, high + off))
    else:
        value = rng.uniform(low, high)
    return {"event_id": draw_event_id(rng), "event_time": stamp(at), "device_id": f"dev-{device:03d}",
            "site": SITES[device % len(SITES)], "metric": metric, "value": _money(value),
            "unit": unit, "battery": _money(max(0.0, 100 - device * 2.1 - rng.random() * 5)),
            "schema_version": 1}


def api_request(rng: random.Random, fake: Faker, at: datetime) -> dict[str, Any]:
    service = rng.choice(list(ENDPOINTS))
    method, endpoint = rng.choice(ENDPOINTS[service])
    roll = rng.random()
    status = (rng.choice((500, 502, 503)) if roll < SERVER_ERROR_SHARE else
              rng.choice((400, 401, 404, 409)) if roll < SERVER_ERROR_SHARE + CLIENT_ERROR_SHARE else
              (201 if method == "POST" else 200))
    latency = int(rng.lognormvariate(0, 0.6) * MEDIAN_LATENCY_MS[service])
    return {"event_id": draw_event_id(rng), "event_time": stamp(at), "service": service,
            "endpoint": endpoint, "method": method, "status": status,
            "latency_ms": min(latency, 600_000), "client_ip": fake.ipv4_public(), "schema_version": 1}


def social_mention(rng: random.Random, fake: Faker, at: datetime) -> dict[str, Any]:
    sentiment = max(-1.0, min(1.0, rng.gauss(0.25, 0.5)))
    product = f"P{rng.randrange(GeneratorOptions.products):05d}"  # the purchases' product ids
    words = rng.choice(POSITIVE if sentiment >= 0 else NEGATIVE)
    return {"event_id": draw_event_id(rng), "event_time": stamp(at), "platform": rng.choice(PLATFORMS),
            "author": fake.user_name(), "text": f"{words}: {product} {fake.sentence(nb_words=6)}",
            "product_id": product, "sentiment": _money(sentiment), "schema_version": 1}


def _spread(draw: Draw) -> Callable[[GeneratorOptions, random.Random], Iterator[dict[str, Any]]]:
    """A profile whose events are independent draws spread evenly over the options' days."""
    def events(options: GeneratorOptions, rng: random.Random) -> Iterator[dict[str, Any]]:
        fake = Faker()
        fake.seed_instance(options.seed)
        start = options.end_time - timedelta(days=options.days)
        step = timedelta(days=options.days) / max(options.count, 1)
        i = 0
        while True:
            yield draw(rng, fake, options.clock() if options.clock else start + step * (i + rng.random()))
            i += 1
    return events


def _purchases(options: GeneratorOptions) -> Iterator[dict[str, Any] | None]:
    """The purchase sequence of the same options, message by message: the event of each that
    reaches silver, None for a malformed or re-sent one. Sessions and payments tie to these."""
    for message in generate(options):
        yield json.loads(message.value) if message.kind in ("valid", "anomaly") else None


def _customer(rng: random.Random, options: GeneratorOptions) -> str:
    return f"C{rng.randrange(options.customers):06d}"  # the purchases' customer ids


def clickstream(options: GeneratorOptions, rng: random.Random) -> Iterator[dict[str, Any]]:
    products: dict[str, str] = {}  # product_id -> category, from the purchases seen
    emitted, at, customer = 0, options.end_time, _customer(rng, options)

    def abandoned() -> list[dict[str, Any]]:
        product = rng.choice(list(products))
        return _session(rng, customer, product, products[product],
                        at - timedelta(minutes=rng.uniform(5, 60)), None, rng.choice((1, 1, 1, 2, 2, 3)))

    for i, purchase in enumerate(_purchases(options)):
        if purchase is None:
            continue
        products[purchase["product_id"]] = purchase["category"]
        at, customer = datetime.fromisoformat(purchase["event_time"]), purchase["customer_id"]
        sessions = []
        if rng.random() < PURCHASE_SESSION_SHARE:
            sessions.append(_session(rng, customer, purchase["product_id"], purchase["category"],
                                     at, purchase["event_id"], 4))
        while emitted + sum(map(len, sessions)) < i + 1:
            sessions.append(abandoned())
        for session in sessions:
            emitted += len(session)
            yield from session
    while products:  # past the last purchase, browsing only (generate_stream stops at the count)
        yield from abandoned()


FUNNEL = (("product", "view"), ("cart", "add_to_cart"), ("checkout", "checkout"),
          ("confirmation", "purchase"))


def _session(rng: random.Random, customer_id: str, product_id: str, category: str,
             ends_at: datetime, purchase_id: str | None, steps: int) -> list[dict[str, Any]]:
    """A session's clicks up to `ends_at`: the first `steps` steps of the funnel (all four when
    it ends in purchase `purchase_id`), after a home, search or category page now and then."""
    session_id = draw_event_id(rng)
    gaps = [rng.uniform(*(g.total_seconds() for g in SESSION_STEP)) for _ in range(steps - 1)] + [0.0]
    at = ends_at - timedelta(seconds=sum(gaps))
    clicks = []
    if rng.random() < 0.5:
        clicks.append({"event_id": draw_event_id(rng), "event_time": stamp(at - timedelta(seconds=30)),
                       "session_id": session_id, "customer_id": customer_id,
                       "page": rng.choice(("home", "search", "category")), "action": "view",
                       "schema_version": 1})
    for (page, action), gap in zip(FUNNEL[:steps], gaps, strict=True):
        click = {"event_id": draw_event_id(rng), "event_time": stamp(at), "session_id": session_id,
                 "customer_id": customer_id, "page": page, "action": action,
                 "product_id": product_id, "category": category, "schema_version": 1}
        if action == "purchase" and purchase_id:
            click["purchase_id"] = purchase_id
        clicks.append(click)
        at += timedelta(seconds=gap)
    return clicks


def financial_transactions(options: GeneratorOptions, rng: random.Random) -> Iterator[dict[str, Any]]:
    currencies = sorted(set(CURRENCY_OF.values()))
    emitted, at = 0, options.end_time

    def other_movement() -> dict[str, Any]:
        large = rng.random() < LARGE_TRANSFER_SHARE
        amount = rng.uniform(10_000, 250_000) if large else rng.lognormvariate(3.5, 1.0)
        channel = "bank_transfer" if large else rng.choice(("card", "bank_transfer", "wallet", "atm"))
        event_id = draw_event_id(rng)  # before the time: the seeded stream's order
        return {"event_id": event_id, "event_time": stamp(at - timedelta(minutes=rng.uniform(0, 30))),
                "account_id": f"acct-{_customer(rng, options)}",
                "counterparty": "atm" if channel == "atm" else f"acct-{rng.randrange(10_000):05d}",
                "amount": _money(min(amount, 9_999_999)), "currency": rng.choice(currencies),
                "channel": channel, "schema_version": 1}

    for i, purchase in enumerate(_purchases(options)):
        if purchase is None:
            continue
        at = datetime.fromisoformat(purchase["event_time"])
        if rng.random() < PAYMENT_SHARE:
            emitted += 1
            event_id = draw_event_id(rng)
            yield {"event_id": event_id, "event_time": stamp(at + timedelta(seconds=rng.uniform(1, 30))),
                   "account_id": f"acct-{purchase['customer_id']}", "counterparty": "shop",
                   "amount": purchase["total_amount"], "currency": purchase["currency"],
                   "channel": CHANNEL_OF_PAYMENT[purchase["payment_method"]],
                   "purchase_id": purchase["event_id"], "schema_version": 1}
        while emitted < i + 1:
            emitted += 1
            yield other_movement()
    while True:  # past the last purchase (generate_stream stops at the count)
        yield other_movement()


PROFILES: dict[str, Callable[[GeneratorOptions, random.Random], Iterator[dict[str, Any]]]] = {
    "iot_sensors": _spread(iot_reading),
    "api_logs": _spread(api_request),
    "social_mentions": _spread(social_mention),
    "clickstream": clickstream,
    "financial_transactions": financial_transactions,
}


def messages(stream: str, options: GeneratorOptions) -> Iterator[Message]:
    """The seeded message sequence of any stream."""
    return generate(options) if stream == PURCHASES else generate_stream(stream, options)


def generate_stream(stream: str, options: GeneratorOptions) -> Iterator[Message]:
    """`options.count` messages of `stream` (not purchases: producer.events), with the
    options' shares of malformed, duplicate and late messages."""
    spec = contract(stream)
    rng = random.Random(f"{stream}:{options.seed}")
    kinds = malformed_kinds(spec)
    events = PROFILES[stream](options, random.Random(f"{stream}-events:{options.seed}"))
    sent: list[Message] = []
    produced = 0
    for event in events:
        if options.clock is None and produced >= options.count:
            return
        roll = rng.random()
        key = str(event[spec.message_key]).encode()
        if sent and roll < options.duplicate_share:
            original = sent[rng.randrange(len(sent))]
            message = Message(original.key, original.value, "duplicate", original.event_id)
        elif roll - options.duplicate_share < options.malformed_share:
            reason = kinds[produced % len(kinds)]
            message = Message(key, broken(spec, event, reason), "malformed", event[spec.key], reason)
        elif roll - options.duplicate_share - options.malformed_share < options.late_share:
            late_by = rng.uniform(*(bound.total_seconds() for bound in LATE_BY))
            event = {**event, spec.event_time: stamp(datetime.fromisoformat(event[spec.event_time])
                                                      - timedelta(seconds=late_by))}
            message = Message(key, encode(event), "late", event[spec.key])
        else:
            message = Message(key, encode(event), "valid", event[spec.key])
        if message.kind in ("valid", "late") and len(sent) < 10_000:
            sent.append(message)
        produced += 1
        yield message
