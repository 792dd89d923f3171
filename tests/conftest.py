"""Shared fixtures. Every test owns its topic and folders; the broker is shared per session."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from lakehouse.settings import PROJECT_ROOT, Settings
from lakehouse.spark import spark_session
from ops.local_kafka import free_port_pair

# testcontainers' Kafka module drives Confluent's images; Confluent Platform 8.1 ships Apache
# Kafka 4.1, the broker line pinned in jvm/pom.xml (tests/unit/test_docker_compose.py checks it).
TESTCONTAINERS_KAFKA_IMAGE = "confluentinc/cp-kafka:8.1.1"


def _docker_answers() -> bool:
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@pytest.fixture(scope="session")
def kafka_bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Kafka broker: testcontainers when a Docker engine answers, else the local one."""
    if os.environ.get("LAKEHOUSE_TEST_STACK", "auto") != "local" and _docker_answers():
        from testcontainers.kafka import KafkaContainer

        with KafkaContainer(TESTCONTAINERS_KAFKA_IMAGE).with_kraft() as container:
            yield container.get_bootstrap_server()
        return
    from ops import local_kafka

    settings = Settings(home=tmp_path_factory.mktemp("broker"),
                        kafka_bootstrap=f"127.0.0.1:{free_port_pair()}")
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
