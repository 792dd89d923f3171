"""The local Kafka broker: a real Apache Kafka (KRaft, single node) run from the jars that
`make setup` resolved, as a background process bound to 127.0.0.1. No Docker needed.

start() is idempotent and returns once the broker answers; stop() ends exactly the process
whose pid start() recorded."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path

from kafka import KafkaAdminClient
from tenacity import retry, retry_if_exception_type, stop_after_delay, wait_fixed

from lakehouse.logs import get_logger
from lakehouse.settings import Settings
from ops.daemons import Daemon

log = get_logger("local_kafka")
BROKER_HEAP = "-Xmx512m"


class BrokerError(RuntimeError):
    pass


@dataclass(frozen=True)
class BrokerPaths:
    root: Path

    @property
    def config(self) -> Path:
        return self.root / "server.properties"

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def pid(self) -> Path:
        return self.root / "broker.pid"

    @property
    def log(self) -> Path:
        return self.root / "broker.log"


def server_properties(settings: Settings, data_dir: Path) -> str:
    port = settings.kafka_port
    controller = port + 1  # the KRaft controller listens on the next port
    props = {
        "process.roles": "broker,controller",
        "node.id": "1",
        "controller.quorum.voters": f"1@127.0.0.1:{controller}",
        "listeners": f"PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller}",
        "advertised.listeners": f"PLAINTEXT://127.0.0.1:{port}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
        "log.dirs": str(data_dir),
        "num.partitions": str(settings.topic_partitions),
        "auto.create.topics.enable": "false",
        "offsets.topic.replication.factor": "1",
        "offsets.topic.num.partitions": "4",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "share.coordinator.state.topic.replication.factor": "1",
        "share.coordinator.state.topic.min.isr": "1",
        "group.initial.rebalance.delay.ms": "0",
        "log.retention.hours": "168",
    }
    return "".join(f"{k}={v}\n" for k, v in props.items())


def _java() -> str:
    java = shutil.which("java")
    if not java:
        raise BrokerError("no `java` on PATH: install a JDK 17")
    return java


def _classpath(settings: Settings) -> str:
    if not settings.kafka_jars:
        raise BrokerError(
            f"no Kafka jars in {settings.jars_dir / 'kafka'}: run `make setup` first"
        )
    return os.pathsep.join(str(p) for p in settings.kafka_jars)


def _broker(paths: BrokerPaths) -> Daemon:
    return Daemon("broker", paths.root, marker=b"kafka.Kafka")


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def _format_storage(settings: Settings, paths: BrokerPaths) -> None:
    if (paths.data / "meta.properties").exists():
        return
    cluster_id = uuid.uuid4().hex[:22]
    subprocess.run(
        [_java(), "-cp", _classpath(settings), "kafka.tools.StorageTool", "format",
         "--cluster-id", cluster_id, "--config", str(paths.config), "--ignore-formatted"],
        check=True, capture_output=True, text=True,
    )


def wait_until_ready(settings: Settings, timeout: float = 90.0) -> None:
    @retry(stop=stop_after_delay(timeout), wait=wait_fixed(0.5),
           retry=retry_if_exception_type(Exception), reraise=True)
    def probe() -> None:
        if not _port_open(settings.kafka_host, settings.kafka_port):
            raise BrokerError(f"nothing listens on {settings.kafka_bootstrap} yet")
        admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap,
                                 request_timeout_ms=5000)
        try:
            admin.list_topics()
        finally:
            admin.close()

    probe()


def start(settings: Settings) -> int:
    """Start the broker unless it runs already; return its pid once it accepts requests."""
    paths = BrokerPaths(settings.broker_dir)
    pid = _broker(paths).pid()
    if pid is not None:
        wait_until_ready(settings)
        log.info("broker_already_running", pid=pid, bootstrap=settings.kafka_bootstrap)
        return pid
    if _port_open("127.0.0.1", settings.kafka_port):
        raise BrokerError(
            f"127.0.0.1:{settings.kafka_port} is taken by another process; "
            "stop it or set LAKEHOUSE_KAFKA_BOOTSTRAP to a free port"
        )
    paths.data.mkdir(parents=True, exist_ok=True)
    paths.config.write_text(server_properties(settings, paths.data))
    _format_storage(settings, paths)
    pid = _broker(paths).start(
        [_java(), BROKER_HEAP, "-cp", _classpath(settings), "kafka.Kafka", str(paths.config)])
    try:
        wait_until_ready(settings)
    except Exception as exc:
        stop(settings)
        raise BrokerError(f"broker did not become ready; see {paths.log}") from exc
    log.info("broker_started", pid=pid, bootstrap=settings.kafka_bootstrap,
             log_file=str(paths.log))
    return pid


def answers(settings: Settings) -> bool:
    """Does a Kafka broker answer at the configured bootstrap address?"""
    try:
        wait_until_ready(settings, timeout=3.0)
    except Exception:  # noqa: BLE001 - any failure means no usable broker
        return False
    return True


def ensure(settings: Settings) -> int | None:
    """Use the broker that answers at the bootstrap address (ours or anyone's), else start ours.
    Returns our broker's pid, or None when another broker serves."""
    if status(settings) is None and answers(settings):
        log.info("using_running_broker", bootstrap=settings.kafka_bootstrap)
        return None
    return start(settings)


def stop(settings: Settings, timeout: float = 30.0) -> bool:
    """Stop the broker start() launched; True if one was running."""
    return _broker(BrokerPaths(settings.broker_dir)).stop(timeout)


def status(settings: Settings) -> int | None:
    return _broker(BrokerPaths(settings.broker_dir)).pid()


def free_port_pair() -> int:
    """A loopback port p with p+1 also free, for a broker of its own (its controller takes p+1)."""
    for _ in range(50):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
        return port
    raise BrokerError("no free pair of loopback ports")
