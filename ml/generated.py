"""Gold-like purchases straight from the producer's generator, with their ground truth.

What silver and dbt would make of the generated messages, without Kafka or Spark: the
contract-valid purchases, first copy of each event_id, typed like gold.fct_purchases (no PII).
For grading the detector on many seeds and shares in seconds."""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal

import pandas as pd

from producer.events import GeneratorOptions, generate

CENT = Decimal("0.01")  # money is decimal(12, 2) in gold
# The columns of gold.fct_purchases the detector may read, in its order.
GOLD_COLUMNS = ["event_id", "event_time", "event_date", "customer_id", "customer_email_hash", "city",
                "country", "product_id", "product_name", "category", "quantity", "unit_price",
                "total_amount", "currency", "payment_method", "is_member", "channel"]


def generated_purchases(options: GeneratorOptions) -> tuple[pd.DataFrame, dict[str, str]]:
    """(purchases like gold.fct_purchases, ground truth event_id -> pattern)."""
    rows: dict[str, dict] = {}
    truth: dict[str, str] = {}
    for message in generate(options):
        if message.kind == "anomaly":
            truth[message.event_id] = message.label
        # Malformed messages would go to quarantine and duplicates be dropped. Valid and
        # anomalous ones pass the contract by construction (tests/unit/test_producer_events.py).
        if message.kind in ("valid", "anomaly") and message.event_id not in rows:
            rows[message.event_id] = json.loads(message.value)
    frame = pd.DataFrame(list(rows.values()))
    frame["event_time"] = pd.to_datetime(frame["event_time"], utc=True, format="ISO8601")
    frame["event_date"] = frame["event_time"].dt.date
    frame["customer_email_hash"] = [hashlib.sha256(e.encode()).hexdigest()
                                    for e in frame["customer_email"]]
    for money in ("unit_price", "total_amount"):
        frame[money] = [Decimal(str(v)).quantize(CENT) for v in frame[money]]
    return frame[GOLD_COLUMNS], truth
