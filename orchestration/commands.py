"""What every DAG shares: the project's commands as tasks run them, the settings Airflow's
processes get from `lakehouse airflow up` (ops/airflow_stack.py, from lakehouse/settings.py), the
retry policy and the failure alert."""

from __future__ import annotations

import json
import logging
import os
import shlex
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent
PROJECT_VENV = PROJECT_ROOT / ".venv"
# One slot: gold's write-audit-publish and gold's maintenance never run at the same time (a
# compaction between an audit and its publish would move main under the audit branch).
# ops/airflow_stack.py creates it (the two sides share no code: another venv).
GOLD_POOL = "lakehouse_gold"

log = logging.getLogger("lakehouse.alerts")


def stream_names() -> list[str]:
    """The streams: one per contract, contracts/<stream>.schema.json, as lakehouse.contract reads
    them (this venv cannot import it; tests/integration/test_airflow.py keeps the two equal)."""
    return sorted(path.name.removesuffix(".schema.json")
                  for path in (PROJECT_ROOT / "contracts").glob("*.schema.json"))


def setting(name: str) -> str:
    """A LAKEHOUSE_* setting as Airflow's processes received it. Missing means Airflow was not
    started by `make airflow`, which passes every setting: say so instead of guessing a default."""
    variable = f"LAKEHOUSE_{name.upper()}"
    try:
        return os.environ[variable]
    except KeyError:
        raise RuntimeError(f"{variable} is not set: start Airflow with `make airflow`") from None


def lakehouse(*args: str) -> str:
    """A `lakehouse` command line (ops/cli.py) from the project's venv."""
    return shlex.join([str(PROJECT_VENV / "bin" / "lakehouse"), *args])


def python_module(module: str, *args: str) -> str:
    """A `python -m <module>` command line from the project's venv."""
    return shlex.join([str(PROJECT_VENV / "bin" / "python"), "-m", module, *args])


def default_args() -> dict[str, Any]:
    """Retries with exponential backoff, then the alert."""
    return {
        "retries": int(setting("gold_retries")),
        "retry_delay": timedelta(seconds=float(setting("gold_retry_delay_seconds"))),
        "retry_exponential_backoff": 2.0,
        "max_retry_delay": timedelta(minutes=5),
        "on_failure_callback": alert,
    }


def alert_payload(context: dict[str, Any]) -> dict[str, Any]:
    task_instance = context.get("task_instance") or context.get("ti")
    exception = context.get("exception")
    return {
        "alert": "task_failed",
        "dag_id": getattr(task_instance, "dag_id", None),
        "task_id": getattr(task_instance, "task_id", None),
        "run_id": getattr(task_instance, "run_id", None),
        "try_number": getattr(task_instance, "try_number", None),
        "error": str(exception)[-2000:] if exception else None,
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def alert(context: dict[str, Any]) -> None:
    """A task failed for good (its retries spent): one structured log line, and a JSON POST to
    LAKEHOUSE_ALERT_WEBHOOK_URL when it is set. A webhook that fails is logged, not raised."""
    payload = alert_payload(context)
    log.error("lakehouse_alert %s", json.dumps(payload, sort_keys=True))
    webhook = os.environ.get("LAKEHOUSE_ALERT_WEBHOOK_URL")
    if not webhook:
        return
    request = urllib.request.Request(webhook, data=json.dumps(payload).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10):
            pass
    except OSError as exc:
        log.error("lakehouse_alert_webhook_failed %s", exc)
