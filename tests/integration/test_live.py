"""Live mode (`lakehouse live up`, ops/live.py) for real: the supervised producer and streams
keep silver growing, a stream killed with kill -9 is started again and resumes from its
checkpoint, `lakehouse live down` stops every process, and the topic reconciles message by
message with silver and quarantine (read back from Kafka and checked by the contract oracle)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter

import pytest
from kafka import KafkaConsumer

from lakehouse.catalog import iceberg_catalog
from lakehouse.settings import PROJECT_ROOT, QUARANTINE_TABLE, SILVER_BATCHES_TABLE, SILVER_TABLE, Settings
from ops import live
from tests.conftest import run_cli, settings_env
from tests.contract_oracle import quarantine_reason

pytestmark = pytest.mark.integration


BRONZE_COUNT = """
from lakehouse.settings import load_settings
from lakehouse.spark import spark_session
from spark_jobs.bronze import read_bronze
settings = load_settings()
print(read_bronze(spark_session(settings), settings).select("partition", "offset").distinct().count())
"""


def silver_rows(settings: Settings) -> int:
    try:
        return len(iceberg_catalog(settings).load_table(SILVER_TABLE).scan(
            selected_fields=("event_id",)).to_arrow())
    except Exception:  # noqa: BLE001 - the table appears with the stream's first batch
        return 0


def wait_for(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout:.0f} s: {what}")
        time.sleep(1)


def topic_values(settings: Settings) -> list[bytes]:
    consumer = KafkaConsumer(settings.topic, bootstrap_servers=settings.kafka_bootstrap,
                             auto_offset_reset="earliest", enable_auto_commit=False,
                             consumer_timeout_ms=5000)
    try:
        return [record.value for record in consumer]
    finally:
        consumer.close()


def test_live_mode_keeps_flowing_restarts_a_killed_stream_and_loses_nothing(settings: Settings):
    settings = settings.model_copy(update={"live_rate": 100.0, "live_trigger_interval": "2 seconds"})
    run_cli(settings, "-m", "ops", "live", "up")
    try:
        wait_for(lambda: silver_rows(settings) > 300, 240, "silver holds 300 rows")
        state = live.status(settings)
        assert state.supervisor_pid is not None
        killed = state.children["silver"]["pid"]
        os.kill(killed, signal.SIGKILL)
        wait_for(lambda: live.status(settings).children["silver"]["starts"] == 2, 60,
                 "the supervisor starts silver again")
        restarted = live.status(settings).children["silver"]
        assert restarted["last_exit_code"] == -signal.SIGKILL and restarted["pid"] != killed
        at_restart = silver_rows(settings)
        wait_for(lambda: silver_rows(settings) > at_restart + 300, 240,
                 "silver grows again after the restart")
        assert live.status(settings).children["producer"]["starts"] == 1
        # the speed DAG's drain steps aside while live mode's streams run
        skipped = subprocess.run([sys.executable, "-m", "ops", "drain"], cwd=PROJECT_ROOT,
                                 env=settings_env(settings), capture_output=True, text=True,
                                 timeout=120)
        assert skipped.returncode == 99 and "nothing to drain" in skipped.stdout
    finally:
        run_cli(settings, "-m", "ops", "live", "down")
    assert live.status(settings).supervisor_pid is None
    for child in state.children.values():
        with pytest.raises(ProcessLookupError):
            os.kill(child["pid"], 0)

    # what the stopped streams had not read yet, then every message reconciles
    run_cli(settings, "-m", "ops", "drain")
    values = topic_values(settings)
    assert len(values) > 600
    reasons = {value: quarantine_reason(value) for value in values}
    valid_ids = {json.loads(v)["event_id"] for v, reason in reasons.items() if reason is None}
    catalog = iceberg_catalog(settings)
    silver = catalog.load_table(SILVER_TABLE).scan(selected_fields=("event_id",)).to_arrow()
    ids = silver["event_id"].to_pylist()
    assert len(ids) == len(set(ids)) == len(valid_ids)
    assert set(ids) == valid_ids
    quarantine = catalog.load_table(QUARANTINE_TABLE).scan().to_arrow()
    assert Counter(quarantine["reason"].to_pylist()) == Counter(
        reason for value in values if (reason := reasons[value]) is not None)
    books = catalog.load_table(SILVER_BATCHES_TABLE).scan().to_arrow()
    assert sum(books["input_rows"].to_pylist()) == len(values)
    bronze_lines = run_cli(settings, "-c", BRONZE_COUNT).stdout.split()[-1]
    assert int(bronze_lines) == len(values)
