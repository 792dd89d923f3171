"""Purchase events built from Faker pools, with injected anomalies, malformed messages and
duplicates. Pure: the same seed and options give the same messages, byte for byte.

Customers have habits, so that an anomaly can be unusual *for them*: each one belongs to a
spending segment, buys mostly in two favourite categories of it, shops within a few hours of
a usual hour (UTC), always from their home country, and pays by bank transfer only for
big-ticket categories.

Injected anomaly patterns and their magnitudes (the constants below):
- amount_spike: total_amount is 5-20x the customer's median past spend (a catalog product at
  its catalog price, 1-3 units; more units of the dearest product when even 3 of it fall short);
- burst: 5-15 purchases by one customer within 10 minutes, every one labelled;
- unusual_hour: at least 8 hours away from the customer's usual hour;
- geo_jump: from a country other than home, within 2 hours of a purchase from home;
- rare_combo: a small-ticket category paid by bank transfer, which usual purchases never are;
- quantity_outlier: 20-60 units (usual purchases have 1-3).

Labels never travel in an event: each message comes with its `kind` (and anomaly pattern or
intended quarantine reason) beside it, for the ground-truth file and the tests."""

from __future__ import annotations

import json
import math
import random
import statistics
import sys
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from faker import Faker

from lakehouse.contract import MAX_MESSAGE_BYTES, Reason, schema_versions
from lakehouse.ground_truth import ANOMALY_PATTERNS

SCHEMA_VERSION = max(schema_versions())
# Version 2 of the contract added the optional coupon_code; this share of purchases carries one.
# Live mode: a customer's median spend (the amount_spike anomaly's yardstick) is taken over
# about this many of their latest purchases, so an endless sequence keeps bounded history.
LIVE_SPEND_WINDOW = 500
COUPONS = ("WELCOME10", "SPRING15", "LOYAL5", "FREESHIP")
COUPON_SHARE = 0.1
LOCALES = {"en_US": ("US", "USD"), "en_GB": ("GB", "GBP"), "de_DE": ("DE", "EUR"),
           "fr_FR": ("FR", "EUR"), "es_ES": ("ES", "EUR")}
CURRENCY_OF = dict(LOCALES.values())  # country -> currency
CATEGORIES = {  # category -> (median unit price, spread of log price, cut at +-2 spreads)
    "electronics": (180.0, 0.6), "books": (18.0, 0.3), "clothing": (45.0, 0.4),
    "home": (60.0, 0.5), "beauty": (25.0, 0.3), "sports": (70.0, 0.5), "toys": (30.0, 0.4),
    "grocery": (12.0, 0.3),
}
BIG_TICKET_CATEGORIES = ("electronics", "home", "sports")  # the only ones paid by bank transfer
PAYMENT_METHODS = ("credit_card", "debit_card", "paypal", "apple_pay", "bank_transfer")
PAYMENT_WEIGHTS = (40, 25, 20, 10, 5)
SMALL_TICKET_PAYMENT_WEIGHTS = tuple(0 if method == "bank_transfer" else weight
                                     for method, weight in zip(PAYMENT_METHODS, PAYMENT_WEIGHTS, strict=True))
CHANNELS = ("web", "mobile_app", "store")
CHANNEL_WEIGHTS = (50, 35, 15)

# Customers' habits. A segment's categories have similar prices, so a customer's spend is
# fairly steady: 1-2% of usual purchases exceed 5x the customer's median, 0.1-0.3% exceed 10x.
SEGMENTS = {  # segment -> (share of customers, its categories)
    "budget": (40, ("grocery", "books", "beauty", "toys")),
    "mainstream": (40, ("clothing", "toys", "home", "beauty", "sports")),
    "premium": (20, ("electronics", "home", "sports")),
}
FAVOURITE_CATEGORIES = 2  # of the segment's
FAVOURITE_SHARE = 0.85  # of a customer's purchases; the rest is in the segment's other categories
USUAL_HOURS_SPREAD = 3  # a customer shops within 3 hours of their usual hour
USUAL_GAP = timedelta(minutes=10)  # ... and never twice within 10 minutes (bursts do)

# The injected anomaly patterns' documented magnitudes (the names: lakehouse.ground_truth).
SPIKE_FACTOR = (5.0, 20.0)  # total_amount = 5..20 x the customer's median past spend
SPIKE_QUANTITY = (1, 3)  # ... bought as 1..3 units of a catalog product at its catalog price
# (when even 3 units of the dearest product fall short of 5x, as many of it as reach 5x)
BURST_SIZE = (5, 15)  # purchases by one customer ...
BURST_WINDOW = timedelta(minutes=10)  # ... within this window
UNUSUAL_HOUR_DISTANCE = 8  # hours at least between the purchase and the customer's usual hour
GEO_JUMP_WITHIN = timedelta(hours=2)  # a purchase abroad this soon after one from home
RARE_COMBOS = tuple((c, "bank_transfer") for c in CATEGORIES if c not in BIG_TICKET_CATEGORIES)
OUTLIER_QUANTITY = (20, 60)  # usual quantity is 1..3
MIN_HISTORY = 3  # patterns that need a customer's habits pick one with this many purchases

# The malformed messages the producer can send on purpose, with the reason silver must give.
MALFORMED_KINDS = (
    Reason.NOT_JSON,
    f"{Reason.MISSING_FIELD}:customer_id",
    f"{Reason.WRONG_TYPE}:quantity",
    f"{Reason.OUT_OF_RANGE}:quantity",
    Reason.TOTAL_MISMATCH,
    Reason.UNKNOWN_SCHEMA_VERSION,
    Reason.NOT_UTF8,
    Reason.OVERSIZED,
)


@dataclass(frozen=True)
class Customer:
    customer_id: str
    name: str
    email: str
    city: str
    country: str
    currency: str
    is_member: bool
    segment: str  # a key of SEGMENTS
    favourite_categories: tuple[str, ...]
    usual_hour: int  # UTC hour the customer's purchases centre on


@dataclass(frozen=True)
class Product:
    product_id: str
    name: str
    category: str
    unit_price: Decimal


@dataclass(frozen=True)
class Message:
    """One Kafka message and what the producer knows about it."""

    key: bytes
    value: bytes
    kind: str  # "valid" | "anomaly" | "malformed" | "duplicate"
    event_id: str | None = None
    label: str | None = None  # anomaly pattern, or the quarantine reason a malformed one earns


@dataclass(frozen=True)
class GeneratorOptions:
    count: int = 10_000
    seed: int = 42
    anomaly_share: float = 0.01
    malformed_share: float = 0.0
    duplicate_share: float = 0.0
    # Share of messages sent hours behind their neighbours' event time (the streams beside
    # purchases: producer.streams).
    late_share: float = 0.0
    customers: int = 500
    products: int = 200
    days: float = 7.0
    end_time: datetime = field(
        default_factory=lambda: datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    )
    # Live mode: each event is stamped by this clock as it is drawn, instead of spread over
    # `days` up to `end_time`, and the sequence never ends (`count` is ignored).
    clock: Callable[[], datetime] | None = None


def _money(value: float | Decimal) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def hour_distance(a: int, b: int) -> int:
    """Hours between two hours of the day, around the clock (0..12)."""
    d = abs(a - b) % 24
    return min(d, 24 - d)


def build_customers(rng: random.Random, n: int, seed: int) -> list[Customer]:
    fakers = {loc: Faker(loc) for loc in LOCALES}
    for i, fk in enumerate(fakers.values()):
        fk.seed_instance(seed * 31 + i)
    customers = []
    for i in range(n):
        locale = rng.choice(list(LOCALES))
        country, currency = LOCALES[locale]
        fk = fakers[locale]
        name = fk.name()
        segment = rng.choices(list(SEGMENTS), weights=[w for w, _ in SEGMENTS.values()])[0]
        customers.append(
            Customer(
                customer_id=f"C{i:06d}",
                name=name,
                email=fk.email(),
                city=fk.city(),
                country=country,
                currency=currency,
                is_member=rng.random() < 0.3,
                segment=segment,
                favourite_categories=tuple(rng.sample(SEGMENTS[segment][1], FAVOURITE_CATEGORIES)),
                usual_hour=rng.randrange(24),
            )
        )
    return customers


def build_products(rng: random.Random, n: int, seed: int) -> list[Product]:
    fk = Faker("en_US")
    fk.seed_instance(seed * 17)
    products = []
    for i in range(n):
        category = rng.choice(list(CATEGORIES))
        median, spread = CATEGORIES[category]
        price = max(1.0, median * math.exp(spread * max(-2.0, min(2.0, rng.gauss(0, 1)))))
        name = f"{fk.color_name()} {fk.word().title()} {category.rstrip('s').title()}"
        products.append(Product(f"P{i:05d}", name, category, _money(price)))
    return products


class Shop:
    """One seed's customers and products, indexed the ways the generator draws them."""

    def __init__(self, customers: Sequence[Customer], products: Sequence[Product]) -> None:
        self.customers = list(customers)
        self.products = list(products)
        self.by_id = {c.customer_id: c for c in self.customers}
        self.by_category = {c: [p for p in self.products if p.category == c] for c in CATEGORIES}
        # Who shops at each hour of the day, and for whom that hour is far from usual.
        self.usual_at = [self._hours_from_usual(h, 0, USUAL_HOURS_SPREAD) for h in range(24)]
        self.unusual_at = [self._hours_from_usual(h, UNUSUAL_HOUR_DISTANCE, 12) for h in range(24)]
        self.cities = {country: sorted({c.city for c in self.customers if c.country == country})
                       for country in CURRENCY_OF}

    def _hours_from_usual(self, hour: int, least: int, most: int) -> list[Customer]:
        """Customers whose usual hour is `least` to `most` hours from `hour` (all when none is)."""
        return [c for c in self.customers
                if least <= hour_distance(hour, c.usual_hour) <= most] or self.customers

    def usual_product(self, rng: random.Random, customer: Customer) -> Product:
        if rng.random() < FAVOURITE_SHARE:
            category = rng.choice(customer.favourite_categories)
        else:
            category = rng.choice(SEGMENTS[customer.segment][1])
        return rng.choice(self.by_category[category] or self.products)


class History:
    """What the generator has sent so far: each customer's spend and recent purchases from home."""

    def __init__(self, spend_window: int | None = None) -> None:
        # an endless (live) sequence keeps each customer's last `spend_window` totals only
        self.spend_window = spend_window
        self.spend: dict[str, list[Decimal]] = {}
        self.last: dict[str, datetime] = {}
        self.from_home: deque[tuple[datetime, str]] = deque()  # (event_time, customer_id)

    def record(self, event: dict[str, Any], customer: Customer) -> None:
        event_time = datetime.fromisoformat(event["event_time"])
        spend = self.spend.setdefault(customer.customer_id, [])
        spend.append(event["total_amount"])
        if self.spend_window and len(spend) > 2 * self.spend_window:
            del spend[:-self.spend_window]
        self.last[customer.customer_id] = max(event_time, self.last.get(customer.customer_id, event_time))
        if event["country"] == customer.country:
            self.from_home.append((event_time, customer.customer_id))

    def usual_customer(self, rng: random.Random, shop: Shop, event_time: datetime) -> Customer:
        """A customer who shops at this hour and has not bought in the last USUAL_GAP."""
        pool = shop.usual_at[event_time.hour]
        customer = rng.choice(pool)
        for _ in range(20):
            if event_time - self.last.get(customer.customer_id, event_time - USUAL_GAP) >= USUAL_GAP:
                break
            customer = rng.choice(pool)
        return customer

    def median_spend(self, customer_id: str) -> Decimal | None:
        spend = self.spend.get(customer_id)
        return statistics.median(spend) if spend else None

    def regulars(self, customers: list[Customer]) -> list[Customer]:
        """Those of `customers` with habits to break (MIN_HISTORY purchases), else all of them."""
        return [c for c in customers if len(self.spend.get(c.customer_id, ())) >= MIN_HISTORY] \
            or customers

    def shopped_at_home_since(self, since: datetime) -> list[str]:
        while self.from_home and self.from_home[0][0] < since:
            self.from_home.popleft()
        return [customer_id for _, customer_id in self.from_home]


def draw_event_id(rng: random.Random) -> str:
    """A UUID drawn from the seeded stream (every generator's event ids)."""
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def stamp(event_time: datetime) -> str:
    """An event time as every generator writes it: ISO 8601, milliseconds, with its offset."""
    return event_time.isoformat(timespec="milliseconds")


def purchase(
    rng: random.Random, customer: Customer, product: Product, event_time: datetime
) -> dict[str, Any]:
    quantity = rng.choices((1, 2, 3), weights=(70, 22, 8))[0]
    payment_weights = (PAYMENT_WEIGHTS if product.category in BIG_TICKET_CATEGORIES
                       else SMALL_TICKET_PAYMENT_WEIGHTS)
    event_id = draw_event_id(rng)
    return {
        "event_id": event_id,
        "event_time": stamp(event_time),
        "customer_id": customer.customer_id,
        "customer_name": customer.name,
        "customer_email": customer.email,
        "city": customer.city,
        "country": customer.country,
        "product_id": product.product_id,
        "product_name": product.name,
        "category": product.category,
        "quantity": quantity,
        "unit_price": product.unit_price,
        "total_amount": _money(product.unit_price * quantity),
        "currency": customer.currency,
        "payment_method": rng.choices(PAYMENT_METHODS, weights=payment_weights)[0],
        "is_member": customer.is_member,
        "channel": rng.choices(CHANNELS, weights=CHANNEL_WEIGHTS)[0],
        "schema_version": SCHEMA_VERSION,
    } | coupon(event_id)


def coupon(event_id: str) -> dict[str, str]:
    """The optional coupon_code of schema_version 2, for about COUPON_SHARE of purchases.
    Derived from the event id, not drawn from the generator's random stream, so adding it kept
    every other field of every event the same."""
    bucket = int(event_id[:8], 16) / 0xFFFFFFFF
    if bucket >= COUPON_SHARE:
        return {}
    return {"coupon_code": COUPONS[int(event_id[9:13], 16) % len(COUPONS)]}


def _with_quantity(event: dict[str, Any], quantity: int) -> dict[str, Any]:
    return {**event, "quantity": quantity,
            "total_amount": _money(event["unit_price"] * quantity)}


def spike_purchase(rng: random.Random, products: Sequence[Product], median: Decimal) -> tuple[Product, int]:
    """A product and quantity whose total is SPIKE_FACTOR x `median`, near a drawn target."""
    low, high = (median * Decimal(str(f)) for f in SPIKE_FACTOR)
    target = median * Decimal(str(rng.uniform(*SPIKE_FACTOR)))
    fits = [(abs(p.unit_price * q - target), q, p.product_id, p)
            for p in products for q in range(SPIKE_QUANTITY[0], SPIKE_QUANTITY[1] + 1)
            if low <= p.unit_price * q <= high]
    if fits:
        _, quantity, _, product = min(fits, key=lambda fit: fit[:3])
        return product, quantity
    # No product is that dear: several units of the dearest (its price is below `low`).
    product = max(products, key=lambda p: (p.unit_price, p.product_id))
    return product, math.ceil(low / product.unit_price)


def inject_anomaly(
    rng: random.Random, shop: Shop, history: History, event: dict[str, Any], pattern: str
) -> list[dict[str, Any]]:
    """The events of one anomaly incident, built at the time of the usual `event` it replaces
    (and, where the pattern allows, for its customer)."""
    event_time = datetime.fromisoformat(event["event_time"])
    customer = shop.by_id[event["customer_id"]]
    if pattern == "amount_spike":
        customer = rng.choice(history.regulars(shop.usual_at[event_time.hour]))
        median = history.median_spend(customer.customer_id) or statistics.median(
            p.unit_price for p in shop.products)
        product, quantity = spike_purchase(rng, shop.products, median)
        return [_with_quantity(purchase(rng, customer, product, event_time), quantity)]
    if pattern == "burst":
        offsets = sorted(rng.uniform(0, BURST_WINDOW.total_seconds())
                         for _ in range(rng.randint(*BURST_SIZE) - 1))
        return [event, *(purchase(rng, customer, shop.usual_product(rng, customer),
                                  event_time + timedelta(seconds=s)) for s in offsets)]
    if pattern == "unusual_hour":
        customer = rng.choice(history.regulars(shop.unusual_at[event_time.hour]))
        return [purchase(rng, customer, shop.usual_product(rng, customer), event_time)]
    if pattern == "geo_jump":
        recent = history.shopped_at_home_since(event_time - GEO_JUMP_WITHIN)
        if recent:
            customer = shop.by_id[rng.choice(recent)]
        abroad = rng.choice([c for c, cities in shop.cities.items()
                             if c != customer.country and cities])
        jumped = purchase(rng, customer, shop.usual_product(rng, customer), event_time)
        return [{**jumped, "country": abroad, "city": rng.choice(shop.cities[abroad]),
                 "currency": CURRENCY_OF[abroad]}]
    if pattern == "rare_combo":
        category, payment_method = rng.choice(RARE_COMBOS)
        product = rng.choice(shop.by_category[category] or shop.products)
        return [{**purchase(rng, customer, product, event_time), "payment_method": payment_method}]
    if pattern == "quantity_outlier":
        return [_with_quantity(event, rng.randint(*OUTLIER_QUANTITY))]
    raise ValueError(f"unknown anomaly pattern {pattern!r}")


def encode(event: dict[str, Any]) -> bytes:
    return json.dumps(event, default=float, separators=(",", ":")).encode("utf-8")


def malformed(event: dict[str, Any], reason: str) -> bytes:
    """A message that breaks the contract in exactly one way, earning `reason`."""
    bad = dict(event)
    if reason == Reason.NOT_JSON:
        return encode(bad)[:-7]  # truncated mid-object
    if reason == Reason.NOT_UTF8:
        return b"\xff\xfe" + encode(bad)[2:]
    if reason == Reason.OVERSIZED:
        bad["padding"] = "x" * MAX_MESSAGE_BYTES
    elif reason == f"{Reason.MISSING_FIELD}:customer_id":
        del bad["customer_id"]
    elif reason == f"{Reason.WRONG_TYPE}:quantity":
        bad["quantity"] = "three"
    elif reason == f"{Reason.OUT_OF_RANGE}:quantity":
        bad["quantity"] = 0
        bad["total_amount"] = Decimal("0.01")
    elif reason == Reason.TOTAL_MISMATCH:
        bad["total_amount"] = bad["total_amount"] + Decimal("5.00")
    elif reason == Reason.UNKNOWN_SCHEMA_VERSION:
        bad["schema_version"] = SCHEMA_VERSION + 98
    else:
        raise ValueError(f"no malformed message for reason {reason!r}")
    return encode(bad)


def anomaly_labels(messages: Iterable[Message]) -> dict[str, str]:
    """The ground truth of `messages`: event_id -> pattern of each injected anomaly."""
    return {m.event_id: m.label for m in messages if m.kind == "anomaly" and m.label}


def _message(event: dict[str, Any], kind: str, label: str | None = None) -> Message:
    return Message(event["customer_id"].encode(), encode(event), kind, event["event_id"], label)


def generate(options: GeneratorOptions) -> Iterator[Message]:
    """`options.count` messages in order. Every message is one draw from one seeded stream,
    so message i is the same whatever was asked for before it.

    Anomalies follow the share closely rather than by chance: every message adds a jittered
    `anomaly_share` to what is owed, and a usual purchase becomes an anomaly incident once a
    whole event is owed. Each incident takes the pattern with the fewest anomalous events so
    far, so the patterns share the anomalies evenly; the events of a burst go out one after
    another."""
    rng = random.Random(options.seed)
    shop = Shop(build_customers(rng, options.customers, options.seed),
                build_products(rng, options.products, options.seed))
    history = History(spend_window=LIVE_SPEND_WINDOW if options.clock else None)
    start = options.end_time - timedelta(days=options.days)
    step = timedelta(days=options.days) / max(options.count, 1)
    sent: list[Message] = []
    owed = 0.0  # anomalous events owed to anomaly_share
    pattern_events = dict.fromkeys(ANOMALY_PATTERNS, 0)
    rest_of_burst: deque[dict[str, Any]] = deque()
    for i in range(options.count if options.clock is None else sys.maxsize):
        owed += 2 * options.anomaly_share * rng.random()
        # With a clock, a burst's later purchases wait until their time comes: sent at once they
        # would lie up to BURST_WINDOW in the future, past silver's future-time limit.
        if rest_of_burst and (options.clock is None
                              or datetime.fromisoformat(rest_of_burst[0]["event_time"]) <= options.clock()):
            event = rest_of_burst.popleft()
            message = _message(event, "anomaly", "burst")
        else:
            roll = rng.random()
            if sent and roll < options.duplicate_share:
                original = sent[rng.randrange(len(sent))]
                yield Message(original.key, original.value, "duplicate", original.event_id)
                continue
            event_time = options.clock() if options.clock else start + step * i + step * rng.random()
            customer = history.usual_customer(rng, shop, event_time)
            event = purchase(rng, customer, shop.usual_product(rng, customer), event_time)
            if roll - options.duplicate_share < options.malformed_share:
                reason = MALFORMED_KINDS[i % len(MALFORMED_KINDS)]
                yield Message(customer.customer_id.encode(), malformed(event, reason), "malformed",
                              event["event_id"], reason)
                continue
            if owed >= 1:
                fewest = min(pattern_events.values())
                pattern = rng.choice([p for p, n in pattern_events.items() if n == fewest])
                event, *rest = inject_anomaly(rng, shop, history, event, pattern)
                rest_of_burst = deque(sorted([*rest_of_burst, *rest], key=lambda e: e["event_time"]))
                owed -= 1 + len(rest)
                pattern_events[pattern] += 1 + len(rest)
                message = _message(event, "anomaly", pattern)
            else:
                message = _message(event, "valid")
        history.record(event, shop.by_id[event["customer_id"]])
        if len(sent) < 10_000:  # duplicates are drawn from a bounded window of earlier events
            sent.append(message)
        yield message
