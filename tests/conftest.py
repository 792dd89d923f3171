"""Shared fixtures. Every test owns its topic and folders; the broker is shared per session."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from pyspark.sql import SparkSession

from lakehouse.settings import PROJECT_ROOT, Settings
from lakehouse.spark import spark_session
from ops.local_kafka import free_port_pair

# The broker testcontainers runs: the project's own Kafka image (docker/Dockerfile, target kafka),
# built locally by `make docker-images` and tagged with the broker version jvm/pom.xml pins
# (tests/unit/test_docker_compose.py checks it); its settings are the compose broker's.
TESTCONTAINERS_KAFKA_IMAGE = "purchases-lakehouse/kafka:4.1.1"
# auto: testcontainers when a Docker engine answers and has the image, else the local broker;
# docker: testcontainers or fail (CI); local: the local broker even with Docker
TEST_STACKS = ("auto", "docker", "local")


def docker_answers() -> bool:
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=20).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def compose_cli() -> list[str] | None:
    """Docker Compose as `make` picks it: the v2 plugin, else the standalone docker-compose
    (Debian bookworm ships 1.29); None if this machine has neither."""
    for cli in (["docker", "compose"], ["docker-compose"]):
        try:
            result = subprocess.run([*cli, "version"], capture_output=True, text=True, timeout=20)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if result.returncode == 0:
            return cli
    return None


def _image_exists(image: str) -> bool:
    return subprocess.run(["docker", "image", "inspect", image], capture_output=True,
                          timeout=30).returncode == 0


def broker_stack() -> str:
    """Which broker this session's tests use: "docker" (testcontainers) or "local"."""
    wanted = os.environ.get("LAKEHOUSE_TEST_STACK", "auto")
    if wanted not in TEST_STACKS:
        raise pytest.UsageError(f"LAKEHOUSE_TEST_STACK={wanted}: use one of {', '.join(TEST_STACKS)}")
    if wanted == "local":
        return "local"
    if docker_answers() and _image_exists(TESTCONTAINERS_KAFKA_IMAGE):
        return "docker"
    if wanted == "docker":
        raise pytest.UsageError(f"LAKEHOUSE_TEST_STACK=docker: no Docker engine answers, or it has "
                                f"no {TESTCONTAINERS_KAFKA_IMAGE} (build it: make docker-images)")
    return "local"


def pytest_report_header() -> str:
    if broker_stack() == "docker":
        return f"kafka broker: testcontainers, {TESTCONTAINERS_KAFKA_IMAGE}"
    return "kafka broker: local (.jars/kafka)"


def kafka_container_environment(port: int) -> dict[str, str]:
    """The compose broker's environment, listening on `port` (and the controller on port + 1)
    and advertising 127.0.0.1:port, the port the container publishes on the host's loopback."""
    compose = yaml.safe_load((PROJECT_ROOT / "docker-compose.yml").read_text())
    environment = dict(compose["services"]["kafka"]["environment"])
    environment.update({
        "KAFKA_LISTENERS": f"PLAINTEXT://:{port},CONTROLLER://:{port + 1}",
        "KAFKA_ADVERTISED_LISTENERS": f"PLAINTEXT://127.0.0.1:{port}",
        "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
        "KAFKA_CONTROLLER_QUORUM_VOTERS": f"1@localhost:{port + 1}",
    })
    return environment


@pytest.fixture(scope="session")
def kafka_bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Kafka broker: a container of the project's Kafka image (testcontainers) when a
    Docker engine answers, else the local one from .jars/kafka."""
    from ops import local_kafka

    port = free_port_pair()
    if broker_stack() == "docker":
        # No registry answers here: Ryuk, testcontainers' reaper image, cannot be pulled; the
        # fixture stops its container itself.
        os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")
        from testcontainers.core.container import DockerContainer

        container = DockerContainer(TESTCONTAINERS_KAFKA_IMAGE).with_envs(
            **kafka_container_environment(port))
        # published on loopback only; with_bind_ports takes no host address, docker-py's
        # port map (which testcontainers hands over as it is) does
        container.ports[f"{port}/tcp"] = ("127.0.0.1", port)
        with container:
            settings = Settings(kafka_bootstrap=f"127.0.0.1:{port}")
            local_kafka.wait_until_ready(settings, timeout=120)
            yield settings.kafka_bootstrap
        return
    settings = Settings(home=tmp_path_factory.mktemp("broker"), kafka_bootstrap=f"127.0.0.1:{port}")
    local_kafka.start(settings)
    try:
        yield settings.kafka_bootstrap
    finally:
        local_kafka.stop(settings)


@pytest.fixture
def settings(tmp_path: Path, kafka_bootstrap: str) -> Settings:
    """Settings of a test of its own: its own home folder (catalog, tables, checkpoints) and
    topics (each stream's topic behind a prefix of its own)."""
    return Settings(home=tmp_path / "lakehouse", kafka_bootstrap=kafka_bootstrap,
                    topic_prefix=f"t{uuid.uuid4().hex[:10]}_")


def settings_env(settings: Settings) -> dict[str, str]:
    """The environment that makes a subprocess see `settings`."""
    return {**os.environ, **settings.environment()}


def run_cli(settings: Settings, *args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    """Run a project command as a user would (`python -m ...`), in the test's settings."""
    result = subprocess.run(
        [sys.executable, *args], cwd=PROJECT_ROOT, env=settings_env(settings),
        capture_output=True, text=True, timeout=timeout,
    )
    if result.returncode != 0:
        raise AssertionError(
            f"{' '.join(args)} exited {result.returncode}\n--- stdout\n{result.stdout[-4000:]}"
            f"\n--- stderr\n{result.stderr[-8000:]}"
        )
    return result


@pytest.fixture(scope="session")
def spark_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The in-process Spark session's own catalog and folders (one JVM per test session)."""
    return Settings(home=tmp_path_factory.mktemp("spark"), topic="in_process")


@pytest.fixture(scope="session")
def spark(spark_settings: Settings) -> Iterator[SparkSession]:
    session = spark_session(spark_settings, "tests")
    yield session
    session.stop()
