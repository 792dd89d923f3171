"""Purchase events built from Faker pools, with injected anomalies, malformed messages and
duplicates. Pure: the same seed and options give the same messages, byte for byte.

Labels never travel in an event: each message comes with its `kind` (and anomaly pattern or
intended quarantine reason) beside it, for the ground-truth file and the tests."""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from faker import Faker

from lakehouse.contract import MAX_MESSAGE_BYTES, Reason, schema_versions

SCHEMA_VERSION = max(schema_versions())
LOCALES = {"en_US": ("US", "USD"), "en_GB": ("GB", "GBP"), "de_DE": ("DE", "EUR"),
           "fr_FR": ("FR", "EUR"), "es_ES": ("ES", "EUR")}
CATEGORIES = {  # category -> (median unit price, spread)
    "electronics": (180.0, 0.8), "books": (18.0, 0.4), "clothing": (45.0, 0.5),
    "home": (60.0, 0.6), "beauty": (25.0, 0.4), "sports": (70.0, 0.6), "toys": (30.0, 0.5),
    "grocery": (12.0, 0.3),
}
PAYMENT_METHODS = ("credit_card", "debit_card", "paypal", "apple_pay", "bank_transfer")
PAYMENT_WEIGHTS = (40, 25, 20, 10, 5)
CHANNELS = ("web", "mobile_app", "store")
CHANNEL_WEIGHTS = (50, 35, 15)

# Injected anomaly patterns and their documented magnitudes.
ANOMALY_PATTERNS = ("amount_spike", "quantity_outlier")
SPIKE_FACTOR = (5.0, 20.0)  # unit price x 5..20 of the product's usual price
OUTLIER_QUANTITY = (20, 60)  # usual quantity is 1..3

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
    customers: int = 500
    products: int = 200
    days: float = 7.0
    end_time: datetime = field(
        default_factory=lambda: datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    )


def _money(value: float | Decimal) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


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
        customers.append(
            Customer(
                customer_id=f"C{i:06d}",
                name=name,
                email=fk.email(),
                city=fk.city(),
                country=country,
                currency=currency,
                is_member=rng.random() < 0.3,
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
        price = max(1.0, rng.lognormvariate(0, spread) * median)
        name = f"{fk.color_name()} {fk.word().title()} {category.rstrip('s').title()}"
        products.append(Product(f"P{i:05d}", name, category, _money(price)))
    return products


def purchase(
    rng: random.Random, customer: Customer, product: Product, event_time: datetime
) -> dict[str, Any]:
    quantity = rng.choices((1, 2, 3), weights=(70, 22, 8))[0]
    return {
        "event_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "event_time": event_time.isoformat(timespec="milliseconds"),
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
        "payment_method": rng.choices(PAYMENT_METHODS, weights=PAYMENT_WEIGHTS)[0],
        "is_member": customer.is_member,
        "channel": rng.choices(CHANNELS, weights=CHANNEL_WEIGHTS)[0],
        "schema_version": SCHEMA_VERSION,
    }


def inject_anomaly(rng: random.Random, event: dict[str, Any], pattern: str) -> dict[str, Any]:
    event = dict(event)
    if pattern == "amount_spike":
        event["unit_price"] = _money(event["unit_price"] * Decimal(rng.uniform(*SPIKE_FACTOR)))
    elif pattern == "quantity_outlier":
        event["quantity"] = rng.randint(*OUTLIER_QUANTITY)
    else:
        raise ValueError(f"unknown anomaly pattern {pattern!r}")
    event["total_amount"] = _money(event["unit_price"] * event["quantity"])
    return event


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


def generate(options: GeneratorOptions) -> Iterator[Message]:
    """`options.count` messages in order. Every message is one draw from one seeded stream,
    so message i is the same whatever was asked for before it."""
    rng = random.Random(options.seed)
    customers = build_customers(rng, options.customers, options.seed)
    products = build_products(rng, options.products, options.seed)
    start = options.end_time - timedelta(days=options.days)
    step = timedelta(days=options.days) / max(options.count, 1)
    sent: list[Message] = []
    for i in range(options.count):
        roll = rng.random()
        if sent and roll < options.duplicate_share:
            original = sent[rng.randrange(len(sent))]
            yield Message(original.key, original.value, "duplicate", original.event_id)
            continue
        customer = rng.choice(customers)
        event_time = start + step * i + step * rng.random()
        event = purchase(rng, customer, rng.choice(products), event_time)
        key = customer.customer_id.encode()
        roll -= options.duplicate_share
        if roll < options.malformed_share:
            reason = MALFORMED_KINDS[i % len(MALFORMED_KINDS)]
            yield Message(key, malformed(event, reason), "malformed", event["event_id"], reason)
            continue
        roll -= options.malformed_share
        if roll < options.anomaly_share:
            pattern = rng.choice(ANOMALY_PATTERNS)
            event = inject_anomaly(rng, event, pattern)
            message = Message(key, encode(event), "anomaly", event["event_id"], pattern)
        else:
            message = Message(key, encode(event), "valid", event["event_id"])
        if len(sent) < 10_000:  # duplicates are drawn from a bounded window of earlier events
            sent.append(message)
        yield message
