"""Command line: send generated purchase events to Kafka and record the ground truth."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Annotated, Any

import typer
from kafka import KafkaProducer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from lakehouse.kafka_topics import ensure_topic, message_count
from lakehouse.logs import get_logger
from lakehouse.settings import Settings, load_settings
from producer.events import GeneratorOptions, generate
from producer.ground_truth import write_ground_truth

log = get_logger("producer")

# Options shared with `lakehouse demo`.
Seed = Annotated[int, typer.Option(help="Seed: the same seed gives the same events.")]
AnomalyShare = Annotated[float, typer.Option(help="Share of purchases with an injected anomaly.")]
MalformedShare = Annotated[float, typer.Option(help="Share of messages that break the contract.")]
DuplicateShare = Annotated[float, typer.Option(help="Share of messages that re-send an event.")]
app = typer.Typer(add_completion=False, help=__doc__)

# The producer's Kafka settings (kafka-python names). `make bench` hands the same ones, with
# dots for underscores, to Kafka's own producer perf tool, its baseline.
# Large batches and zstd: kafka-python wakes its sender thread for every new batch, so small
# batches (16 KiB, ~30 purchases) cost a socket write per few sends; see docs/benchmarks.md.
PRODUCER_CONFIG: dict[str, Any] = {
    "acks": "all",
    "linger_ms": 100,
    "batch_size": 1024 * 1024,
    "compression_type": "zstd",
    "retries": 5,
    "max_request_size": 1024 * 1024,
}


PROGRESS_EVERY = 1_000  # messages between two updates of the progress bar


@dataclass
class ProduceSummary:
    topic: str
    sent: int = 0
    skipped: int = 0
    kinds: Counter[str] = field(default_factory=Counter)
    failed: int = 0
    seconds: float = 0.0

    def as_dict(self) -> dict[str, object]:
        return {"topic": self.topic, "sent": self.sent, "skipped": self.skipped,
                "failed": self.failed, "seconds": round(self.seconds, 2), **dict(self.kinds)}


def produce(
    settings: Settings,
    options: GeneratorOptions,
    *,
    skip: int = 0,
    rate: float = 0.0,
    show_progress: bool = True,
) -> ProduceSummary:
    """Send messages `skip`..`options.count` of the seeded sequence; wait for every ack."""
    ensure_topic(settings)
    messages = list(generate(options))
    write_ground_truth(settings.ground_truth_path, messages)
    summary = ProduceSummary(settings.topic, skipped=min(skip, len(messages)))
    to_send = messages[skip:]
    producer = KafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap,
        **settings.kafka_python_options(),
        **PRODUCER_CONFIG,
        client_id="purchases-producer",
    )
    summary.kinds.update(message.kind for message in to_send)
    started = time.monotonic()
    futures = []
    with Progress(disable=not show_progress, transient=True) as progress:
        task = progress.add_task(f"producing to {settings.topic}", total=len(to_send))
        for i, message in enumerate(to_send, start=1):
            futures.append(producer.send(settings.topic, key=message.key, value=message.value))
            if rate > 0:
                delay = started + i / rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            if i % PROGRESS_EVERY == 0:  # an update per message cost ~3 µs of a send's ~60 µs
                progress.advance(task, PROGRESS_EVERY)
        progress.update(task, completed=len(to_send))
        producer.flush()
    for future in futures:
        try:
            future.get(timeout=30)
            summary.sent += 1
        except Exception as exc:  # noqa: BLE001 - counted and reported, never silent
            summary.failed += 1
            log.error("send_failed", error=str(exc))
    producer.close()
    summary.seconds = time.monotonic() - started
    log.info("produced", **summary.as_dict())
    return summary


@app.command()
def main(
    count: int = typer.Option(10_000, help="Messages in the seeded sequence."),
    seed: Seed = 42,
    rate: float = typer.Option(0.0, help="Messages per second; 0 sends as fast as possible."),
    anomaly_share: AnomalyShare = 0.01,
    malformed_share: MalformedShare = 0.0,
    duplicate_share: DuplicateShare = 0.0,
    days: float = typer.Option(7.0, help="The events' event_time spans this many days to now."),
    resume: bool = typer.Option(
        False, help="Send only what the topic lacks: skip as many messages as it already holds."
    ),
    topic: str = typer.Option(None, help="Kafka topic (default: LAKEHOUSE_TOPIC or purchases)."),
) -> None:
    """Produce purchase events to Kafka; anomalies' event ids go to the ground-truth file."""
    settings = load_settings(**({"topic": topic} if topic else {}))
    options = GeneratorOptions(count=count, seed=seed, anomaly_share=anomaly_share,
                               malformed_share=malformed_share, duplicate_share=duplicate_share,
                               days=days)
    try:
        skip = message_count(settings) if resume else 0
        summary = produce(settings, options, skip=skip, rate=rate)
    except Exception as exc:
        typer.echo(f"producer failed: {exc}", err=True)
        raise typer.Exit(1) from exc
    table = Table(title=f"produced to {settings.topic}")
    for key, value in summary.as_dict().items():
        table.add_row(key, str(value))
    Console().print(table)
    typer.echo(f"ground truth: {settings.ground_truth_path}")
    if summary.failed:
        raise typer.Exit(1)
