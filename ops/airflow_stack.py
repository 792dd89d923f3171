"""Apache Airflow on the local stack: its components as background processes on 127.0.0.1,
run from their own venv (.venv-airflow, `make setup`), with the DAGs in orchestration/dags.

Metadata lives in an embedded SQLite database under $LAKEHOUSE_HOME/airflow: Airflow 3 runs
its LocalExecutor on SQLite (only backfills refuse it), and the local stack needs no server
for it. Every component reads the same environment, built here from the settings: the Iceberg
catalog as the connection the gold DAG's watcher polls, and the LAKEHOUSE_* variables the DAGs
and the project commands their tasks run read."""

from __future__ import annotations

import json
import os
import subprocess
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tenacity import retry, retry_if_exception_type, stop_after_delay, wait_fixed

from lakehouse.catalog import pyiceberg_properties
from lakehouse.logs import get_logger
from lakehouse.settings import PROJECT_ROOT, Settings
from ops.daemons import Daemon

log = get_logger("airflow")

AIRFLOW_VENV = PROJECT_ROOT / ".venv-airflow"
DAGS_DIR = PROJECT_ROOT / "orchestration" / "dags"
# Each component and its arguments. The log servers the scheduler and triggerer would start
# bind every interface; task logs are files under $AIRFLOW_HOME/logs either way.
COMPONENTS: dict[str, Sequence[str]] = {
    "api-server": ("api-server",),  # --host: settings.listen_address
    "scheduler": ("scheduler", "--skip-serve-logs"),
    "dag-processor": ("dag-processor",),
    "triggerer": ("triggerer", "--skip-serve-logs"),
}
# The api-server renames its process "airflow api_server"; the others keep their command line.
MARKERS = {"api-server": b"api_server"}
# The one-slot pool gold's writers share (orchestration/commands.py names it for the DAGs).
GOLD_POOL = "lakehouse_gold"
GOLD_POOL_DESCRIPTION = "gold writes one at a time: write-audit-publish, maintenance"
HEALTHY = ("metadatabase", "scheduler", "triggerer", "dag_processor")


class AirflowError(RuntimeError):
    pass


@dataclass(frozen=True)
class AirflowStatus:
    pids: dict[str, int | None]
    url: str
    password_file: Path

    @property
    def running(self) -> bool:
        return all(self.pids.values())


def airflow_bin() -> Path:
    binary = AIRFLOW_VENV / "bin" / "airflow"
    if not binary.exists():
        raise AirflowError(f"no {binary}: run `make setup` (it installs requirements-airflow.lock)")
    return binary


def url(settings: Settings) -> str:
    return f"http://127.0.0.1:{settings.airflow_port}"


def password_file(settings: Settings) -> Path:
    """Where Airflow's simple auth manager writes the generated password of user `admin`."""
    return settings.airflow_home / "simple_auth_manager_passwords.json.generated"


def catalog_connection(settings: Settings) -> str:
    """The Iceberg catalog as an Airflow connection (the Iceberg provider's hook loads a
    pyiceberg catalog named after the connection id, which must then be the catalog's name)."""
    # fsspec reads the metadata files: Airflow's venv has no pyarrow, pyiceberg's default.
    extra = {**pyiceberg_properties(settings), "py-io-impl": "pyiceberg.io.fsspec.FsspecFileIO"}
    return json.dumps({"conn_type": "iceberg", "extra": extra})


def airflow_env(settings: Settings) -> dict[str, str]:
    """The environment of every Airflow process, and of `airflow` commands run by hand."""
    port = settings.airflow_port
    return {
        **os.environ,
        **settings.environment(),
        "AIRFLOW_HOME": str(settings.airflow_home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_DIR),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        # two cores: a few tasks at a time, each a Spark driver of its own
        "AIRFLOW__CORE__PARALLELISM": "4",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
        "AIRFLOW__API__HOST": settings.listen_address,
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__WORKERS": "1",
        "AIRFLOW__API__BASE_URL": url(settings),
        # a task whose process died with Airflow (stopped mid-run) is tried again within a
        # minute of the restart, not five
        "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "60",
        # a task rides out an api-server that is slow to (re)start: its calls to the execution
        # API back off over about two minutes instead of five tries in a few seconds
        "AIRFLOW__WORKERS__EXECUTION_API_RETRIES": "10",
        # DAG files are parsed again within seconds of a change, not the default 5 minutes
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "10",
        "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "10",
        f"AIRFLOW_CONN_{settings.catalog_name.upper()}": catalog_connection(settings),
        # the DAGs import orchestration.* (never the project's other packages: another venv)
        "PYTHONPATH": str(PROJECT_ROOT),
    }


def airflow(settings: Settings, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """Run an `airflow` command in the stack's environment; raise with its output on failure."""
    result = subprocess.run([str(airflow_bin()), *args], env=airflow_env(settings), cwd=PROJECT_ROOT,
                            capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        raise AirflowError(f"airflow {' '.join(args)} exited {result.returncode}:\n"
                           f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result


def _daemon(settings: Settings, component: str) -> Daemon:
    marker = MARKERS.get(component, component.encode())
    return Daemon(component, settings.airflow_home / "run", marker=marker)


def status(settings: Settings) -> AirflowStatus:
    return AirflowStatus(pids={name: _daemon(settings, name).pid() for name in COMPONENTS},
                         url=url(settings), password_file=password_file(settings))


def health(settings: Settings) -> dict[str, str]:
    """Each component's status from the API server's health endpoint."""
    with urllib.request.urlopen(f"{url(settings)}/api/v2/monitor/health", timeout=5) as response:
        body = json.load(response)
    return {name: (body.get(name) or {}).get("status", "missing") for name in HEALTHY}


def wait_answering(settings: Settings, timeout: float = 180.0) -> None:
    """Wait until the API server answers its health endpoint, whatever the components' state."""
    @retry(stop=stop_after_delay(timeout), wait=wait_fixed(0.5),
           retry=retry_if_exception_type(OSError), reraise=True)
    def probe() -> None:
        health(settings)

    probe()


def wait_healthy(settings: Settings, timeout: float = 180.0) -> None:
    @retry(stop=stop_after_delay(timeout), wait=wait_fixed(1.0),
           retry=retry_if_exception_type(Exception), reraise=True)
    def probe() -> None:
        unhealthy = {k: v for k, v in health(settings).items() if v != "healthy"}
        if unhealthy:
            raise AirflowError(f"not healthy yet: {unhealthy}")

    probe()


def prepare(settings: Settings) -> None:
    """Migrate the metadata database and create the pool the DAGs share (idempotent)."""
    airflow(settings, "db", "migrate")
    airflow(settings, "pools", "set", GOLD_POOL, "1", GOLD_POOL_DESCRIPTION)


def start(settings: Settings) -> AirflowStatus:
    """Migrate the metadata database and start every component that does not run; return
    once the API server reports them all healthy. Idempotent."""
    env = airflow_env(settings)
    settings.airflow_home.mkdir(parents=True, exist_ok=True)
    if not status(settings).running:
        prepare(settings)
    try:
        for name, args in COMPONENTS.items():
            extra = (("--host", settings.listen_address, "--port", str(settings.airflow_port))
                     if name == "api-server" else ())
            _daemon(settings, name).start([str(airflow_bin()), *args, *extra], env=env, cwd=PROJECT_ROOT)
            if name == "api-server":
                # A task the scheduler starts reports to the api-server's execution API at once
                # (a few retries over ~5 s); a restarted scheduler that ran first failed the
                # task it re-queued, and with it a retry.
                wait_answering(settings)
        wait_healthy(settings)
    except Exception as exc:
        logs = settings.airflow_home / "run"
        raise AirflowError(f"Airflow did not become healthy at {url(settings)}: {exc}; "
                           f"see the logs in {logs}") from exc
    log.info("airflow_started", url=url(settings))
    return status(settings)


def stop(settings: Settings) -> list[str]:
    """Stop every component `start` launched; the names of those that ran."""
    return [name for name in reversed(COMPONENTS) if _daemon(settings, name).stop()]
