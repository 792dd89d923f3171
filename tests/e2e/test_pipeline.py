"""produce -> bronze + silver -> dbt build -> ml on a real broker, reconciled end to end for
every stream, through the command a user runs (`lakehouse demo`), twice."""

import json
from collections import Counter
from decimal import Decimal

import pyarrow.compute as pc
import pytest

from lakehouse.catalog import iceberg_catalog
from lakehouse.contract import PURCHASES, contract, stream_names
from lakehouse.ground_truth import read_ground_truth
from lakehouse.settings import ANOMALIES_TABLE, GOLD_FACT_TABLE, QUARANTINE_TABLE, SILVER_TABLE
from producer.events import GeneratorOptions, generate
from producer.streams import messages as stream_messages
from spark_jobs.bronze import read_bronze
from tests.conftest import run_cli

pytestmark = pytest.mark.e2e

EVENTS, SEED = 3000, 17
SHARES = {"anomaly_share": 0.02, "malformed_share": 0.03, "duplicate_share": 0.03, "late_share": 0.02}


def run_demo(settings):
    args = ["-m", "ops", "demo", "--events", str(EVENTS), "--seed", str(SEED),
            "--no-progress", *(f"--{k.replace('_', '-')}={v}" for k, v in SHARES.items())]
    result = run_cli(settings, *args)
    last = result.stdout.strip().splitlines()[-1]
    assert last.startswith("summary JSON: "), result.stdout[-2000:]
    return json.loads(open(last.removeprefix("summary JSON: ")).read()), result.stdout


def test_the_pipeline_reconciles_end_to_end_and_reruns_add_nothing(settings, spark):
    messages = list(generate(GeneratorOptions(count=EVENTS, seed=SEED, **SHARES)))
    kinds = Counter(m.kind for m in messages)
    assert kinds["malformed"] > 30 and kinds["duplicate"] > 30 and kinds["anomaly"] > 20
    valid = {m.event_id: json.loads(m.value) for m in messages if m.kind in ("valid", "anomaly")}

    summary, stdout = run_demo(settings)
    for figure in ("sent", "bronze", "silver", "quarantined", "duplicates", " ok",
                   "gold_fct_purchases_rows", "anomalies_flagged", *stream_names()):
        assert figure in stdout, figure
    books = summary["streams"][PURCHASES]

    # bronze: every message once, with its Kafka coordinates and its bytes untouched
    bronze = read_bronze(spark, settings).select("partition", "offset", "value").collect()
    assert len(bronze) == EVENTS
    ends = Counter(r.partition for r in bronze)
    assert {(r.partition, r.offset) for r in bronze} == {
        (p, o) for p, n in ends.items() for o in range(n)}
    assert Counter(bytes(r.value) for r in bronze) == Counter(m.value for m in messages)

    catalog = iceberg_catalog(settings)
    silver = catalog.load_table(SILVER_TABLE).scan().to_arrow()
    quarantine = catalog.load_table(QUARANTINE_TABLE).scan().to_arrow()
    gold = catalog.load_table(GOLD_FACT_TABLE).scan().to_arrow()
    scores = catalog.load_table(ANOMALIES_TABLE).scan().to_arrow()

    # silver: exactly the valid distinct events, with the right money
    assert sorted(silver["event_id"].to_pylist()) == sorted(valid)
    silver_revenue = pc.sum(silver["total_amount"]).as_py()
    assert silver_revenue == sum(Decimal(str(e["total_amount"])) for e in valid.values())
    assert "customer_email" not in silver.column_names

    # quarantine: exactly the malformed messages, each with the reason it earns
    assert Counter(quarantine["reason"].to_pylist()) == Counter(
        m.label for m in messages if m.kind == "malformed")
    assert all(p is not None and o is not None for p, o in zip(
        quarantine["kafka_partition"].to_pylist(), quarantine["kafka_offset"].to_pylist(), strict=True))

    # the books balance
    assert books["events_produced"] == books["bronze_records"] == EVENTS
    assert books["silver_rows"] == len(valid)
    assert books["quarantined_rows"] == kinds["malformed"]
    assert books["duplicates_dropped"] == kinds["duplicate"]
    assert books["books_balance"] is True and summary["books_balance"] is True

    # gold: silver's rows and revenue
    assert gold.num_rows == silver.num_rows == summary["gold_fct_purchases_rows"]
    assert pc.sum(gold["total_amount"]).as_py() == silver_revenue

    # ml: every purchase scored; injected anomalies score above the median on average
    assert sorted(scores["event_id"].to_pylist()) == sorted(valid)
    truth = read_ground_truth(settings.ground_truth_path)
    assert set(truth) == {m.event_id for m in messages if m.kind == "anomaly"}
    by_id = dict(zip(scores["event_id"].to_pylist(), scores["anomaly_score"].to_pylist(), strict=True))
    injected = [by_id[event_id] for event_id in truth]
    median = sorted(by_id.values())[len(by_id) // 2]
    assert sum(injected) / len(injected) > median
    assert summary["anomalies_flagged"] == pc.sum(scores["is_anomaly"]).as_py() > 0

    # every other stream reconciles the same way: sent = bronze = silver + quarantined + duplicates
    for name in stream_names():
        if name != PURCHASES:
            reconcile_stream(settings.for_stream(name), summary["streams"][name], spark)

    # a second run adds nothing anywhere
    again, _ = run_demo(settings)
    assert again["streams"] == summary["streams"]
    assert again["gold_fct_purchases_rows"] == summary["gold_fct_purchases_rows"]
    assert read_bronze(spark, settings).count() == EVENTS
    assert catalog.load_table(SILVER_TABLE).scan().to_arrow().num_rows == len(valid)

    # a backfill rebuilds any stream's silver from its bronze: the rows the stream wrote
    iot = contract("iot_sensors")

    def rows(table: str, drop: str) -> list[tuple]:
        data = iceberg_catalog(settings).load_table(table).scan().to_arrow().drop_columns([drop])
        return sorted(tuple(str(v) for v in row.values()) for row in data.to_pylist())

    streamed = rows(iot.silver_table, "ingested_at"), rows(iot.quarantine_table, "quarantined_at")
    result = run_cli(settings, "-m", "spark_jobs.backfill", "--stream", iot.name)
    assert f"backfilled {EVENTS} bronze records" in result.stdout
    assert (rows(iot.silver_table, "ingested_at"), rows(iot.quarantine_table, "quarantined_at")) == streamed


def reconcile_stream(settings, books, spark):
    stream = contract(settings.stream)
    messages = list(stream_messages(stream.name, GeneratorOptions(count=EVENTS, seed=SEED, **SHARES)))
    kinds = Counter(m.kind for m in messages)
    assert min(kinds["malformed"], kinds["duplicate"], kinds["late"]) > 30, (stream.name, kinds)
    kept = {m.event_id: json.loads(m.value) for m in messages if m.kind in ("valid", "late")}

    bronze = read_bronze(spark, settings).select("value").collect()
    assert Counter(bytes(r.value) for r in bronze) == Counter(m.value for m in messages), stream.name

    catalog = iceberg_catalog(settings)
    silver = catalog.load_table(stream.silver_table).scan().to_arrow()
    quarantine = catalog.load_table(stream.quarantine_table).scan().to_arrow()
    # silver: exactly the kept distinct events (late ones too), PII only as hashes
    assert sorted(silver[stream.key].to_pylist()) == sorted(kept), stream.name
    for spec in stream.fields:
        assert (spec.name in silver.column_names) is not spec.pii, (stream.name, spec.name)
    # quarantine: exactly the malformed messages, each with the reason it earns
    assert Counter(quarantine["reason"].to_pylist()) == Counter(
        m.label for m in messages if m.kind == "malformed"), stream.name
    assert books == {"stream": stream.name, "topic": settings.topic, "events_produced": EVENTS,
                     "bronze_records": EVENTS, "silver_rows": len(kept),
                     "quarantined_rows": kinds["malformed"], "duplicates_dropped": kinds["duplicate"],
                     "already_present": 0, "books_balance": True}
