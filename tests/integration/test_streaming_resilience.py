"""The streaming jobs under crashes, broker restarts, re-sent events and backfills, run as a
user runs them (`python -m spark_jobs...`) against a real broker, then reconciled."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pyarrow.compute as pc
import pytest
from kafka import KafkaProducer

from lakehouse.catalog import iceberg_catalog
from lakehouse.contract import PURCHASES, contract
from lakehouse.kafka_topics import ensure_topic
from lakehouse.settings import PROJECT_ROOT, QUARANTINE_TABLE, SILVER_TABLE, Settings
from ops import local_kafka
from ops.local_kafka import free_port_pair
from producer.events import GeneratorOptions, Message, generate
from producer.streams import messages as stream_messages
from spark_jobs.bronze import read_bronze
from tests.conftest import run_cli, settings_env

pytestmark = pytest.mark.integration


def start_job(settings: Settings, job: str, log_dir: Path, interval: str = "2 seconds",
              extra_env: dict[str, str] | None = None, streams: tuple[str, ...] = ()) -> subprocess.Popen:
    log_dir.mkdir(parents=True, exist_ok=True)
    out = (log_dir / f"{job}.log").open("ab")
    return subprocess.Popen(
        [sys.executable, "-m", f"spark_jobs.{job}", "--trigger", "processing-time",
         "--interval", interval, *(arg for stream in streams for arg in ("--stream", stream))],
        cwd=PROJECT_ROOT, env={**settings_env(settings), **(extra_env or {})},
        stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
    )


def batches_logged(log: Path) -> int:
    return log.read_text(errors="replace").count("batch_progress") if log.exists() else 0


def wait_for_batches(log: Path, process: subprocess.Popen, total: int,
                     timeout: float = 180) -> None:
    """Wait until the job's log holds `total` micro-batches."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if batches_logged(log) >= total:
            return
        assert process.poll() is None, f"{log.stem} exited {process.returncode}: see {log}"
        time.sleep(0.2)
    raise AssertionError(f"{log.stem} logged no {total} batches in {timeout}s: see {log}")


def crash(process: subprocess.Popen) -> None:
    """kill -9 the job and its JVM at once."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait()


def send(settings: Settings, messages: list[Message]) -> None:
    """Send exactly these messages, in order, and wait for every ack."""
    ensure_topic(settings)
    producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all")
    for message in messages:
        producer.send(settings.topic, key=message.key, value=message.value)
    producer.flush()
    producer.close()


class Flow(threading.Thread):
    """Sends messages at a steady rate until stopped; `sent` says how many went out (all acked)."""

    def __init__(self, settings: Settings, messages: list[Message], rate: float) -> None:
        super().__init__(daemon=True)
        self.settings, self.messages, self.rate = settings, messages, rate
        self.stopped = threading.Event()
        self.sent = 0

    def run(self) -> None:
        ensure_topic(self.settings)
        producer = KafkaProducer(bootstrap_servers=self.settings.kafka_bootstrap, acks="all")
        started = time.monotonic()
        for i, message in enumerate(self.messages):
            if self.stopped.is_set():
                break
            producer.send(self.settings.topic, key=message.key, value=message.value)
            self.sent = i + 1
            time.sleep(max(0.0, started + (i + 1) / self.rate - time.monotonic()))
        producer.flush()
        producer.close()

    def stop(self) -> list[Message]:
        self.stopped.set()
        self.join()
        return self.messages[: self.sent]


def drain(settings: Settings, streams: tuple[str, ...] = ()) -> None:
    args = [arg for stream in streams for arg in ("--stream", stream)]
    run_cli(settings, "-m", "spark_jobs.bronze", *args)
    run_cli(settings, "-m", "spark_jobs.silver", *args)


def reconcile(settings: Settings, spark, messages: list[Message]) -> None:
    """bronze: every message once; silver: the distinct valid events; quarantine: the
    malformed ones with their reasons; counts (and purchases' revenue) match."""
    stream = contract(settings.stream)
    bronze = read_bronze(spark, settings).select("partition", "offset", "value").collect()
    assert len(bronze) == len(messages)
    assert len({(r.partition, r.offset) for r in bronze}) == len(messages)
    assert Counter(bytes(r.value) for r in bronze) == Counter(m.value for m in messages)

    valid = {m.event_id: json.loads(m.value, parse_float=Decimal)
             for m in messages if m.kind in ("valid", "anomaly", "late")}
    catalog = iceberg_catalog(settings)
    silver = catalog.load_table(stream.silver_table).scan().to_arrow()
    assert silver.num_rows == len(valid)
    assert set(silver[stream.key].to_pylist()) == set(valid)
    if stream.name == PURCHASES:
        assert pc.sum(silver["total_amount"]).as_py() == sum(e["total_amount"] for e in valid.values())
    quarantine = catalog.load_table(stream.quarantine_table).scan().to_arrow()
    assert Counter(quarantine["reason"].to_pylist()) == Counter(
        m.label for m in messages if m.kind == "malformed")
    coordinates = list(zip(quarantine["kafka_partition"].to_pylist(),
                           quarantine["kafka_offset"].to_pylist(), strict=True))
    assert len(set(coordinates)) == len(coordinates)


def test_kill_9_at_random_moments_loses_and_duplicates_nothing_on_two_streams(settings, spark, tmp_path):
    """Each job runs a query per stream in one process (purchases and clickstream), both
    streams flowing; kill -9 takes both queries down at once."""
    options = GeneratorOptions(count=30_000, seed=61, malformed_share=0.03, duplicate_share=0.05,
                               late_share=0.03)
    streams = (PURCHASES, "clickstream")
    flows = {stream: Flow(settings.for_stream(stream), list(stream_messages(stream, options)), rate=40)
             for stream in streams}  # they flow until the kills are done
    for flow in flows.values():
        flow.start()
    small_batches = {"LAKEHOUSE_MAX_OFFSETS_PER_TRIGGER": "100"}
    rng = random.Random(int(time.time()))
    kills = []
    jobs = {job: start_job(settings, job, tmp_path, extra_env=small_batches, streams=streams)
            for job in ("bronze", "silver")}
    for _ in range(5):
        marks = {job: batches_logged(tmp_path / f"{job}.log") for job in jobs}
        for job in jobs:  # let each run commit a batch or two ...
            wait_for_batches(tmp_path / f"{job}.log", jobs[job], marks[job] + rng.randint(1, 2))
        for job in jobs:  # ... then kill it at a random moment of its work
            wait = rng.uniform(0, 2.5)
            time.sleep(wait)
            crash(jobs[job])
            kills.append((job, round(wait, 2)))
            jobs[job] = start_job(settings, job, tmp_path, extra_env=small_batches, streams=streams)
    sent = {stream: flow.stop() for stream, flow in flows.items()}
    for process in jobs.values():
        crash(process)
    print(f"kill -9 (job, seconds after a committed batch): {kills}; sent: "
          f"{ {stream: len(messages) for stream, messages in sent.items()} }")
    drain(settings, streams)
    for stream, messages in sent.items():
        assert Counter(m.kind for m in messages)["malformed"] > 0
        reconcile(settings.for_stream(stream), spark, messages)
    silver_log = (tmp_path / "silver.log").read_text()
    for stream in streams:
        assert silver_log.count(f"stream='{stream}'") >= 5, stream


def test_broker_restart_under_running_streams(tmp_path, spark):
    broker = Settings(home=tmp_path / "own-broker",
                      kafka_bootstrap=f"127.0.0.1:{free_port_pair()}")
    local_kafka.start(broker)
    settings = Settings(home=tmp_path / "lakehouse", kafka_bootstrap=broker.kafka_bootstrap,
                        topic="restart")
    try:
        options = GeneratorOptions(count=3000, seed=62, malformed_share=0.03, duplicate_share=0.03)
        messages = list(generate(options))
        send(settings, messages[:1500])
        jobs = {job: start_job(settings, job, tmp_path) for job in ("bronze", "silver")}
        time.sleep(25)
        local_kafka.stop(broker)
        time.sleep(5)
        local_kafka.start(broker)
        send(settings, messages[1500:])
        time.sleep(30)
        exits = {job: process.poll() for job, process in jobs.items()}
        print(f"after the broker restart the jobs were: {exits} (None = still running)")
        for job, code in exits.items():
            assert code in (None, 1), f"{job} exited {code}: a clear non-zero exit or recovery"
        for process in jobs.values():
            crash(process)
        drain(settings)
        reconcile(settings, spark, messages)
    finally:
        local_kafka.stop(broker)


def test_resent_events_are_dropped_across_restarts(settings):
    everything = list(generate(GeneratorOptions(count=800, seed=63)))
    messages = everything[:600]
    send(settings, messages)
    run_cli(settings, "-m", "spark_jobs.silver")
    # the producer retries: the same 600 messages again, then 200 new ones
    send(settings, messages + everything[600:])
    run_cli(settings, "-m", "spark_jobs.silver")
    valid = {m.event_id for m in everything if m.kind in ("valid", "anomaly")}
    catalog = iceberg_catalog(settings)
    silver = catalog.load_table(SILVER_TABLE).scan().to_arrow()
    assert sorted(silver["event_id"].to_pylist()) == sorted(valid)
    books = catalog.load_table("silver.purchases_batches").scan().to_arrow()
    assert pc.sum(books["duplicates_dropped"]).as_py() == sum(
        m.kind in ("valid", "anomaly", "duplicate") for m in messages)
    assert pc.sum(books["input_rows"]).as_py() == 1400
    # every micro-batch's progress, with the Kafka lag, is recorded for monitoring
    progress = [json.loads(line) for line in settings.metrics_path("silver").read_text().splitlines()]
    assert sum(p["input_rows"] for p in progress) == 1400
    assert all(p["kafka_lag"] >= 0 and p["batch_seconds"] > 0 for p in progress)


def test_backfill_from_bronze_gives_the_same_rows_as_the_stream(settings, spark):
    everything = list(generate(GeneratorOptions(count=1700, seed=64, malformed_share=0.05,
                                                 duplicate_share=0.05)))
    send(settings, everything[:1500])
    drain(settings)
    catalog = iceberg_catalog(settings)

    def rows(table: str, drop: str) -> list[tuple]:
        data = catalog.load_table(table).scan().to_arrow().drop_columns([drop])
        return sorted(tuple(str(v) for v in row.values()) for row in data.to_pylist())

    streamed = rows(SILVER_TABLE, "ingested_at"), rows(QUARANTINE_TABLE, "quarantined_at")
    result = run_cli(settings, "-m", "spark_jobs.backfill")
    assert "backfilled 1500 bronze records" in result.stdout
    backfilled = rows(SILVER_TABLE, "ingested_at"), rows(QUARANTINE_TABLE, "quarantined_at")
    assert backfilled == streamed
    # the stream resumes after a backfill without writing anything twice
    send(settings, everything[1500:])
    drain(settings)
    reconcile(settings, spark, everything)

