"""The docker-compose stack, really run: Kafka and PostgreSQL from the project's images, the jobs'
Spark drivers on the standalone cluster (a master, two workers). A broker killed with SIGKILL and
a streaming job killed mid-stream lose nothing and count nothing twice; `make demo STACK=docker`
balances every stream's books; Airflow and the dashboard come up healthy.

Needs a Docker engine, Compose and the images (`make docker-images`); skipped without them,
unless LAKEHOUSE_TEST_STACK=docker (CI), which makes a missing engine a failure. The stack
publishes 127.0.0.1:9092, 8080, 8090 and 8501 while the module runs, and leaves no volume."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
from collections.abc import Iterator

import pytest
import yaml

from lakehouse.kafka_topics import message_count
from lakehouse.settings import PROJECT_ROOT, Settings
from tests.conftest import broker_stack, compose_cli

pytestmark = pytest.mark.integration

# a compose project of its own: the module wipes its volumes, never those of a user's stack
PROJECT = "purchases-lakehouse-tests"
HOST_BOOTSTRAP = "127.0.0.1:9092"
# What the kill tests and the demo need; Airflow and the dashboard come up in the last test.
CORE_SERVICES = ["kafka", "postgres", "spark-master", "spark-worker-1", "spark-worker-2"]
PUBLISHED_PORTS = (9092, 8080, 8090, 8501)


def port_open(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def compose_command() -> list[str]:
    cli = compose_cli()
    if cli is None:
        pytest.fail("a Docker engine answers but no Compose is installed")
    return cli


def compose(*args: str, timeout: float = 900, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([*compose_command(), *args], cwd=PROJECT_ROOT, capture_output=True, text=True,
                            timeout=timeout, env={**os.environ, "COMPOSE_PROJECT_NAME": PROJECT})
    if check and result.returncode != 0:
        raise AssertionError(f"compose {' '.join(args)} exited {result.returncode}\n"
                             f"--- stdout\n{result.stdout[-4000:]}\n--- stderr\n{result.stderr[-6000:]}")
    return result


def wait_healthy(*services: str) -> None:
    compose("up", "-d", *services)
    result = subprocess.run(["bash", "docker/wait-healthy.sh", *compose_command()], cwd=PROJECT_ROOT,
                            capture_output=True, text=True, timeout=700,
                            env={**os.environ, "COMPOSE_PROJECT_NAME": PROJECT})
    assert result.returncode == 0, result.stderr


def container_of(service: str) -> str:
    (container,) = compose("ps", "-q", service).stdout.split()
    return container


def last_json_line(output: str) -> dict:
    return json.loads(output.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def stack() -> Iterator[Settings]:
    """The core services on fresh volumes; the settings the host reaches the broker with."""
    if broker_stack() != "docker":
        pytest.skip("no Docker engine with the project's images (make docker-images)")
    compose("down", "--volumes", "--remove-orphans")
    taken = [port for port in PUBLISHED_PORTS if port_open(port)]
    if taken:
        pytest.fail(f"127.0.0.1 ports {taken} are taken (a docker stack of yours? `make down "
                    "STACK=docker`); the stack under test publishes them")
    wait_healthy(*CORE_SERVICES)
    try:
        yield Settings(kafka_bootstrap=HOST_BOOTSTRAP)
    finally:
        compose("--profile", "jobs", "down", "--volumes", "--remove-orphans", check=False)


def kill(container: str) -> None:
    subprocess.run(["docker", "kill", "--signal", "KILL", container], check=True, capture_output=True)


def test_a_broker_killed_mid_production_keeps_what_it_acknowledged_and_the_producer_resumes(
        stack: Settings):
    """The broker and the producer SIGKILLed while the demo's 10,000 purchases are sent; the
    broker started again still holds what it had, and the producer run again tops each
    partition up to its share: the topic ends with the sequence once."""
    # the demo's producer command, paced so that the kill lands mid-way
    command = yaml.safe_load((PROJECT_ROOT / "docker-compose.yml").read_text())[
        "services"]["producer"]["command"]
    producer = compose("run", "-d", "producer", *command, "--rate", "1000").stdout.strip().splitlines()[-1]
    deadline = time.monotonic() + 120
    while (held := message_count(stack)) < 2_000:
        assert time.monotonic() < deadline, f"only {held} messages sent in 2 min"
        time.sleep(0.2)
    kill(container_of("kafka"))
    # the producer too, unless it already gave up on the broker
    subprocess.run(["docker", "rm", "--force", producer], capture_output=True, check=True)
    wait_healthy("kafka")
    survived = message_count(stack)
    assert 2_000 <= survived < 10_000, survived
    compose("run", "--rm", "producer")
    assert message_count(stack) == 10_000
    # its own consistency check passes too: each partition ends where the sequence's shares
    # do, so a run again sends nothing
    compose("run", "--rm", "producer")
    assert message_count(stack) == 10_000


def test_a_streaming_job_killed_mid_stream_is_resumed_by_make_demo_and_every_book_balances(
        stack: Settings):
    """Silver on the cluster, 500 messages a micro-batch, SIGKILLed after a few commits; then
    `make demo STACK=docker`, the local stack's demo in a container (the same summary and
    books, Spark on the cluster), whose silver resumes from that checkpoint: every message once
    in silver, the quarantine or the duplicates, for purchases as for the streams it sends."""
    run = compose("run", "-d", "-e", "LAKEHOUSE_MAX_OFFSETS_PER_TRIGGER=500", "silver",
                  "python", "-m", "spark_jobs.silver", "--trigger", "processing-time",
                  "--interval", "1 second")
    container = run.stdout.strip().splitlines()[-1]
    commits = "/lakehouse/checkpoints/silver-purchases/commits"
    deadline = time.monotonic() + 300
    committed = 0
    while committed < 3:
        assert time.monotonic() < deadline, "silver committed fewer than 3 micro-batches in 5 min"
        listing = subprocess.run(["docker", "exec", container, "ls", commits], capture_output=True,
                                 text=True)
        committed = len([n for n in listing.stdout.split() if n.isdigit()])
        time.sleep(1)
    assert committed * 500 < 10_000, "silver finished before it was killed"
    kill(container)
    subprocess.run(["docker", "rm", container], capture_output=True)

    result = subprocess.run(["make", "--no-print-directory", "demo", "STACK=docker"], cwd=PROJECT_ROOT,
                            capture_output=True, text=True, timeout=1500,
                            env={**os.environ, "COMPOSE_PROJECT_NAME": PROJECT})
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert "books_balance           │                      True" in result.stdout
    books = last_json_line(compose("run", "--rm", "books").stdout)
    assert books["books_balance"] is True
    # purchases held its 10,000 already (the test above): the demo sent only the others
    assert len(books["streams"]) >= 5
    assert all(s["events_produced"] == s["bronze_records"] == 10_000 for s in books["streams"].values())
    purchases = books["streams"]["purchases"]
    assert sum(purchases[k] for k in ("silver_rows", "quarantined_rows", "duplicates_dropped")) == 10_000
    master = json.loads(subprocess.run(
        ["docker", "exec", container_of("spark-master"), "python", "-c",
         "import urllib.request; print(urllib.request.urlopen('http://localhost:8080/json/').read().decode())"],
        capture_output=True, text=True, check=True).stdout)
    assert master["aliveworkers"] == 2
    # the killed silver, the demo's session (named after its first job), the books
    applications = {a["name"] for a in master["completedapps"]}
    assert {"silver", "bronze", "books"} <= applications, applications


def test_airflow_and_the_dashboard_come_up_healthy_beside_the_cluster(stack: Settings):
    wait_healthy("airflow", "dashboard")
    import urllib.request

    with urllib.request.urlopen("http://127.0.0.1:8080/api/v2/monitor/health", timeout=10) as response:
        health = json.load(response)
    assert health["scheduler"]["status"] == "healthy"
    with urllib.request.urlopen("http://127.0.0.1:8501/_stcore/health", timeout=10) as response:
        assert response.read() == b"ok"
