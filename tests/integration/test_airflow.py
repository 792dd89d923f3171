"""The purchases_gold DAG on real Airflow 3 (its own venv, SQLite metadata, LocalExecutor):
its integrity, `airflow dags test` end to end and with a dbt test failing (gold unchanged, the
run failed, the alert posted), and a real scheduler where a silver commit, and nothing else,
publishes exactly the new valid events to gold, Airflow restarted mid-run included."""

from __future__ import annotations

import json
import shlex
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from lakehouse.contract import PURCHASES, stream_names
from lakehouse.settings import PROJECT_ROOT, Settings
from ops import airflow_stack
from producer.cli import produce
from producer.events import GeneratorOptions
from tests.conftest import run_cli
from tests.integration.test_gold_wap import (
    INJECT_NEGATIVE_TOTAL,
    gold_event_ids,
    gold_state,
    silver_event_ids,
)

pytestmark = pytest.mark.integration

FIRST = GeneratorOptions(count=700, seed=401, days=2, duplicate_share=0.02, malformed_share=0.02)
# Later purchases: a sequence of their own (the seeded sequence's event times depend on its
# count, so a longer run of FIRST's seed would re-send FIRST's events at other times).
MORE = GeneratorOptions(count=300, seed=402, days=2, duplicate_share=0.02, malformed_share=0.02)

DAG_REPORT = """
import json, sys
from airflow.models.dagbag import DagBag
bag = DagBag(dag_folder=sys.argv[1])
print(json.dumps({
    "errors": {path: str(error) for path, error in bag.import_errors.items()},
    "dags": {dag_id: {
        "schedule": repr(dag.schedule),
        "max_active_runs": dag.max_active_runs,
        "paused_upon_creation": dag.is_paused_upon_creation,
        "tasks": {task.task_id: {"command": getattr(task, "bash_command", None),
                                 "pool": task.pool,
                                 "downstream": sorted(task.downstream_task_ids),
                                 "retries": task.retries,
                                 "exponential": bool(task.retry_exponential_backoff)}
                  for task in dag.tasks},
    } for dag_id, dag in bag.dags.items()},
}))
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def airflow_settings(settings: Settings) -> Settings:
    """The test's settings with an Airflow of its own (home, port), quick retries and polls."""
    return settings.model_copy(update={"airflow_port": free_port(), "gold_retries": 1,
                                       "gold_retry_delay_seconds": 1.0, "gold_poll_seconds": 2.0})


def dag_report(settings: Settings) -> dict:
    result = subprocess.run(
        [str(airflow_stack.AIRFLOW_VENV / "bin" / "python"), "-c", DAG_REPORT,
         str(airflow_stack.DAGS_DIR)],
        env=airflow_stack.airflow_env(settings), capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_dags_import_without_cycles_and_every_task_command_exists(airflow_settings: Settings):
    report = dag_report(airflow_settings)
    assert report["errors"] == {}
    dags = report["dags"]
    others = [stream for stream in stream_names() if stream != PURCHASES]
    assert set(dags) == {"purchases_gold", "lakehouse_maintenance", "purchases_speed",
                         "purchases_batch", "purchases_serving",
                         *(f"{stream}_{layer}" for stream in others for layer in ("speed", "batch"))}
    gold = dags["purchases_gold"]
    assert gold["max_active_runs"] == 1
    # gold follows silver from the start; the clock-driven DAGs wait to be unpaused
    assert {dag_id: dag["paused_upon_creation"] for dag_id, dag in dags.items()} == {
        dag_id: dag_id != "purchases_gold" for dag_id in dags}
    assert "silver.purchases" in gold["schedule"]
    assert gold["tasks"]["audit_and_publish"]["downstream"] == ["score_anomalies"]
    # gold's writers share the one-slot pool Airflow is started with
    assert gold["tasks"]["audit_and_publish"]["pool"] == airflow_stack.GOLD_POOL
    assert dags["lakehouse_maintenance"]["tasks"]["maintain_gold"]["pool"] == airflow_stack.GOLD_POOL
    assert "0 3 * * *" in dags["lakehouse_maintenance"]["schedule"]
    for layer, cron in {"speed": "*/5 * * * *", "batch": "0 2 * * *",
                        "serving": "*/10 * * * *"}.items():
        assert cron in dags[f"purchases_{layer}"]["schedule"]
    serving = dags["purchases_serving"]["tasks"]
    assert serving["serve_analyses"]["downstream"] == ["raise_alerts"]
    assert "-m serving alerts" in serving["raise_alerts"]["command"]
    for stream in others:  # every other stream's cadences, from the same factory
        assert "*/5 * * * *" in dags[f"{stream}_speed"]["schedule"]
        assert "0 2 * * *" in dags[f"{stream}_batch"]["schedule"]
        batch = dags[f"{stream}_batch"]["tasks"]
        assert f"drain --stream {stream}" in batch["drain"]["command"]
        assert batch["drain"]["downstream"] == ["publish_gold"]
        assert batch["publish_gold"]["pool"] == airflow_stack.GOLD_POOL
    for dag in dags.values():
        for task in dag["tasks"].values():
            assert task["retries"] == 1 and task["exponential"]
    helped = set()
    for dag_id, dag in dags.items():
        for task_id, task in dag["tasks"].items():
            argv = shlex.split(task["command"])
            if task["command"] in helped:  # the same command in another stream's DAG
                continue
            helped.add(task["command"])
            assert Path(argv[0]).is_file(), (dag_id, task_id, argv[0])
            help_run = subprocess.run([*argv, "--help"], cwd=PROJECT_ROOT, capture_output=True,
                                      text=True, timeout=120)
            assert help_run.returncode == 0, (dag_id, task_id, help_run.stderr[-2000:])


class Webhook:
    """A local HTTP endpoint that keeps the JSON bodies posted to it."""

    def __init__(self) -> None:
        received = self.received = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/alerts"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    hook = Webhook()
    yield hook
    hook.server.shutdown()


def dags_test(settings: Settings) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(airflow_stack.airflow_bin()), "dags", "test", "purchases_gold"],
                          env=airflow_stack.airflow_env(settings), cwd=PROJECT_ROOT,
                          capture_output=True, text=True, timeout=1200)


def test_dags_test_publishes_gold_and_a_failing_dbt_test_fails_the_run(airflow_settings: Settings,
                                                                         webhook: Webhook):
    settings = airflow_settings.model_copy(update={"alert_webhook_url": webhook.url})
    produce(settings, FIRST, show_progress=False)
    run_cli(settings, "-m", "spark_jobs.silver")
    airflow_stack.prepare(settings)

    passed = dags_test(settings)
    assert passed.returncode == 0, passed.stdout[-3000:] + passed.stderr[-3000:]
    assert run_states(settings) == ["success"]
    assert sorted(gold_event_ids(settings)) == sorted(silver_event_ids(settings))
    assert webhook.received == []

    before = gold_state(settings)
    run_cli(settings, "-c", INJECT_NEGATIVE_TOTAL)
    failed = dags_test(settings)
    output = failed.stdout + failed.stderr
    assert run_states(settings) == ["success", "failed"]
    assert gold_state(settings) == before
    assert [alert["task_id"] for alert in webhook.received] == ["audit_and_publish"]
    assert webhook.received[0]["dag_id"] == "purchases_gold"
    assert "lakehouse_alert" in output


def dag_runs(settings: Settings) -> list[dict]:
    """purchases_gold's runs, oldest first, from Airflow's metadata."""
    listed = airflow_stack.airflow(settings, "dags", "list-runs", "purchases_gold", "-o", "json")
    runs = json.loads(listed.stdout.strip().splitlines()[-1])
    return sorted(runs, key=lambda run: run["run_after"])


def run_states(settings: Settings) -> list[str]:
    return [run["state"] for run in dag_runs(settings)]


def wait_for(condition, timeout: float, what: str) -> float:
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"not within {timeout:.0f} s: {what}")
        time.sleep(2)
    return time.monotonic() - started


def test_a_silver_commit_and_nothing_else_publishes_gold_through_the_scheduler_and_a_restart(
        airflow_settings: Settings):
    settings = airflow_settings
    produce(settings, FIRST, show_progress=False)
    run_cli(settings, "-m", "spark_jobs.silver")
    run_cli(settings, "-m", "ops", "airflow", "up", timeout=300)
    try:
        first = sorted(silver_event_ids(settings))
        # the watcher's first look reports silver's head: the first run publishes it
        wait_for(lambda: _gold_or_empty(settings) == first, 300, "gold = silver after the first run")

        produce(settings, MORE, show_progress=False)
        run_cli(settings, "-m", "spark_jobs.silver")
        now = sorted(silver_event_ids(settings))
        assert len(now) > len(first)
        # Airflow stopped while that commit's run works, and started again: the run resumes
        wait_for(lambda: any(run["state"] == "running" for run in dag_runs(settings)[1:]), 120,
                 "a run for the new silver commit")
        run_cli(settings, "-m", "ops", "airflow", "down", timeout=120)
        run_cli(settings, "-m", "ops", "airflow", "up", timeout=300)
        waited = wait_for(lambda: _gold_or_empty(settings) == now, 420,
                          "gold = silver after the new silver commit and a restart")
        gold = gold_event_ids(settings)
        assert len(gold) == len(set(gold))
        runs = dag_runs(settings)
        assert runs and all(run["run_id"].startswith("asset_triggered__") for run in runs)
        print(f"gold published {waited:.0f} s after Airflow's restart")
    finally:
        run_cli(settings, "-m", "ops", "airflow", "down", timeout=120)


def _gold_or_empty(settings: Settings) -> list[str]:
    try:
        return sorted(gold_event_ids(settings))
    except Exception:  # noqa: BLE001 - gold does not exist before the first run
        return []
