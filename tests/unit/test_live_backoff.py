"""Live mode's restart backoff (ops/live.py) and the DAGs' failure alert (orchestration/commands.py,
standard library only, so it runs here too): pure logic, and a real local webhook."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from types import SimpleNamespace

import pytest

from ops.live import FIRST_BACKOFF_SECONDS, HEALTHY_AFTER_SECONDS, MAX_BACKOFF_SECONDS, next_backoff
from orchestration import commands


def test_quick_failures_double_the_wait_up_to_the_cap():
    waits, wait = [], FIRST_BACKOFF_SECONDS
    for _ in range(8):
        wait = next_backoff(wait, ran_seconds=3)
        waits.append(wait)
    assert waits == [2, 4, 8, 16, 32, 60, 60, 60]
    assert MAX_BACKOFF_SECONDS == 60


def test_a_healthy_run_resets_the_wait():
    assert next_backoff(32, ran_seconds=HEALTHY_AFTER_SECONDS) == FIRST_BACKOFF_SECONDS
    assert next_backoff(32, ran_seconds=HEALTHY_AFTER_SECONDS - 1) == 60


def failure_context() -> dict:
    ti = SimpleNamespace(dag_id="purchases_gold", task_id="audit_and_publish", run_id="r1",
                         try_number=4)
    return {"task_instance": ti, "exception": RuntimeError("dbt build failed: assert_no_negative_totals")}


def test_the_alert_names_the_task_run_try_and_error():
    payload = commands.alert_payload(failure_context())
    assert payload["alert"] == "task_failed"
    assert (payload["dag_id"], payload["task_id"], payload["run_id"], payload["try_number"]) == (
        "purchases_gold", "audit_and_publish", "r1", 4)
    assert "assert_no_negative_totals" in payload["error"]


@pytest.fixture
def webhook():
    received = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/hook", received
    server.shutdown()


def test_the_alert_is_logged_and_posted_when_a_webhook_is_set(webhook, monkeypatch, caplog):
    url, received = webhook
    monkeypatch.setenv("LAKEHOUSE_ALERT_WEBHOOK_URL", url)
    with caplog.at_level("ERROR", logger="lakehouse.alerts"):
        commands.alert(failure_context())
    assert [r["task_id"] for r in received] == ["audit_and_publish"]
    assert "lakehouse_alert" in caplog.text


def test_a_webhook_that_fails_is_logged_not_raised(monkeypatch, caplog):
    monkeypatch.setenv("LAKEHOUSE_ALERT_WEBHOOK_URL", "http://127.0.0.1:9/nothing-listens")
    with caplog.at_level("ERROR", logger="lakehouse.alerts"):
        commands.alert(failure_context())
    assert "lakehouse_alert_webhook_failed" in caplog.text
