"""Command line: send a stream's generated events to Kafka (purchases': with their ground truth)."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from lakehouse.contract import PURCHASES, contract
from lakehouse.ground_truth import write_ground_truth
from lakehouse.kafka_topics import ensure_topic, last_values, partitions_of_new_topic
from lakehouse.logs import get_logger
from lakehouse.settings import Settings, load_settings
from producer.events import GeneratorOptions, anomaly_labels
from producer.sending import (
    PARALLEL_FROM,
    Outbox,
    not_held,
    partition_for,
    partitioned,
    records,
    send,
    send_in_parallel,
    shares,
)
from producer.streams import messages as stream_messages

log = get_logger("producer")

# Options shared with `lakehouse demo`.
Seed = Annotated[int, typer.Option(help="Seed: the same seed gives the same events.")]
AnomalyShare = Annotated[float, typer.Option(help="Share of purchases with an injected anomaly.")]
MalformedShare = Annotated[float, typer.Option(help="Share of messages that break the contract.")]
DuplicateShare = Annotated[float, typer.Option(help="Share of messages that re-send an event.")]
LateShare = Annotated[float, typer.Option(
    help="Share of messages sent hours behind their neighbours' event time (streams beside purchases).")]
app = typer.Typer(add_completion=False, help=__doc__)


@dataclass
class ProduceSummary:
    topic: str
    sent: int = 0
    skipped: int = 0
    kinds: Counter[str] = field(default_factory=Counter)
    failed: int = 0
    seconds: float = 0.0
    senders: int = 1  # producer processes that shared the partitions

    def as_dict(self) -> dict[str, object]:
        return {"topic": self.topic, "sent": self.sent, "skipped": self.skipped,
                "failed": self.failed, "seconds": round(self.seconds, 2), "senders": self.senders,
                **dict(self.kinds)}


def produce(
    settings: Settings,
    options: GeneratorOptions,
    *,
    skip: int = 0,
    resume: bool = False,
    rate: float = 0.0,
    processes: int | None = None,
    show_progress: bool = True,
) -> ProduceSummary:
    """Send messages `skip`..`options.count` of the seeded sequence; wait for every ack.

    With `resume`, nothing is sent to a topic holding `options.count` messages already; else
    each partition gets only the messages of its share it does not hold yet (a run stopped
    half-way leaves every partition with the first part of its share). Sending
    as fast as possible, `processes` producers (default: one per CPU, at most one per
    partition) share the partitions; `rate` paces a single one."""
    ensure_topic(settings)
    held = partitions_of_new_topic(settings)
    if not held:
        raise RuntimeError(f"topic {settings.topic} shows no partitions 30 s after its creation")
    messages = list(stream_messages(settings.stream, options))
    if settings.stream == PURCHASES:
        write_ground_truth(settings.ground_truth_path, anomaly_labels(messages))
    started = time.monotonic()
    outbox = partitioned(messages[skip:], len(held))
    if resume:
        # The sequence follows the clock (its event times end at the current hour by default),
        # so a later run's partition shares can differ from the first's: a topic that holds the
        # whole count is complete, whatever its partitions hold.
        if sum(held.values()) < len(messages):
            check_held_prefix(settings, outbox, held)
            outbox = not_held(outbox, held)
        else:
            outbox = []
    summary = ProduceSummary(settings.topic, skipped=len(messages) - len(outbox))
    summary.kinds.update(message.kind for _, message in outbox)
    if rate == 0 and len(outbox) >= PARALLEL_FROM:
        summary.senders = min(processes or os.cpu_count() or 1, len(held))
    with Progress(disable=not show_progress, transient=True) as progress:
        task = progress.add_task(f"producing to {settings.topic}", total=len(outbox))

        def advance(n: int) -> None:
            progress.advance(task, n)

        wire = records(outbox)
        if summary.senders > 1:
            delivery = send_in_parallel(settings, shares(wire, summary.senders), on_progress=advance)
        else:
            delivery = send(settings, wire, rate=rate, on_progress=advance)
    summary.sent, summary.failed = delivery.sent, delivery.failed
    summary.seconds = time.monotonic() - started
    log.info("produced", **summary.as_dict())
    return summary


class ResumeMismatch(RuntimeError):
    """The topic holds messages of another sequence than the one a resumed run would finish."""


def check_held_prefix(settings: Settings, outbox: Outbox, held: dict[int, int]) -> None:
    """Refuse to top up a topic whose partitions do not hold the start of this sequence's
    shares: the last message each holds must be the sequence's message at that place. Another
    --count, --days, seed or share (or another hour of the clock, which the event times follow)
    gives other event times, and a re-sent event would reach silver with a time its first copy
    did not have, past the duplicate check."""
    share: dict[int, list[bytes]] = {}
    for partition, message in outbox:
        share.setdefault(partition, []).append(message.value)
    holding = [p for p, n in held.items() if n > 0]
    over = [p for p in holding if held[p] > len(share.get(p, []))]
    last = last_values(settings, [p for p in holding if p not in over])
    unread = set(holding) - set(over) - set(last)
    if unread:
        raise RuntimeError(f"could not read the last message of partitions {sorted(unread)} of "
                           f"topic {settings.topic}, so cannot tell whether it may be topped up")
    differ = over + [p for p, value in last.items() if share[p][held[p] - 1] != value]
    if differ:
        raise ResumeMismatch(
            f"topic {settings.topic} holds messages of another sequence (partitions "
            f"{sorted(differ)} do not end where this one's shares would): resume with the "
            "--count, --seed, --days and shares of the run that filled it, within the same hour, "
            "or produce to a new topic")


def produce_forever(settings: Settings, options: GeneratorOptions, rate: float) -> ProduceSummary:
    """Live mode: send an endless sequence at `rate` messages per second, each event stamped
    with the clock as it is drawn, until SIGTERM or Ctrl-C; anomalies' event ids go to the
    ground-truth file every PROGRESS_EVERY messages. The seed is mixed with the start time, so a
    restarted producer draws new events rather than sending the old ones again."""
    if rate <= 0:
        raise ValueError("--forever needs a --rate above 0")
    ensure_topic(settings)
    partitions = len(partitions_of_new_topic(settings))
    if not partitions:
        raise RuntimeError(f"topic {settings.topic} shows no partitions 30 s after its creation")
    live = replace(options, seed=hash((options.seed, time.time_ns())), clock=lambda: datetime.now(UTC))
    summary = ProduceSummary(settings.topic)
    labels: dict[str, str] = {}
    started = time.monotonic()

    stopping = threading.Event()

    def wire() -> Iterator[tuple[int, bytes, bytes]]:
        for message in stream_messages(settings.stream, live):
            if stopping.is_set():
                return
            summary.kinds[message.kind] += 1
            if message.kind == "anomaly" and message.label:
                labels[message.event_id] = message.label
            yield partition_for(message.key, partitions), message.key, message.value

    def flush_labels(sent: int) -> None:
        if labels:
            write_ground_truth(settings.ground_truth_path, labels)
            labels.clear()
        if sent:
            log.info("live_progress", sent=sum(summary.kinds.values()),
                     seconds=round(time.monotonic() - started, 1), **dict(summary.kinds))

    # SIGTERM (`make down`, the live supervisor) and Ctrl-C end the sequence: what was handed
    # to Kafka is acknowledged, and its labels written, before the process exits.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stopping.set())
    try:
        delivery = send(settings, wire(), rate=rate, on_progress=flush_labels)
        summary.sent, summary.failed = delivery.sent, delivery.failed
    finally:
        flush_labels(0)
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
    late_share: LateShare = 0.0,
    days: float = typer.Option(7.0, help="The events' event_time spans this many days to now."),
    resume: bool = typer.Option(
        False, help="Send only what the topic lacks: nothing if it holds --count messages, else "
        "each partition gets the messages of its share past those it already holds."
    ),
    stream: str = typer.Option(
        None, help="Stream whose events to send (a contract in contracts/; default: LAKEHOUSE_STREAM, "
        "purchases)."),
    topic: str = typer.Option(None, help="Kafka topic (default: LAKEHOUSE_TOPIC, or the stream's name)."),
    processes: int = typer.Option(
        None, min=1, help="Producer processes sharing the partitions when --rate is 0 (default: one "
        "per CPU, at most one per partition)."
    ),
    forever: bool = typer.Option(
        False, help="Live mode: send at --rate until stopped (SIGTERM, Ctrl-C), each event stamped "
        "with the clock; --count, --days and --resume do not apply."
    ),
) -> None:
    """Produce a stream's events to Kafka; purchases' anomalies' event ids go to the ground-truth file."""
    settings = load_settings()
    if stream:
        try:
            settings = settings.for_stream(contract(stream).name)
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint="--stream") from None
    if topic:
        settings = settings.model_copy(update={"topic": topic})
    options = GeneratorOptions(count=count, seed=seed, anomaly_share=anomaly_share,
                               malformed_share=malformed_share, duplicate_share=duplicate_share,
                               late_share=late_share, days=days)
    try:
        summary = (produce_forever(settings, options, rate) if forever else
                   produce(settings, options, resume=resume, rate=rate, processes=processes))
    except Exception as exc:
        typer.echo(f"producer failed: {exc}", err=True)
        raise typer.Exit(1) from exc
    table = Table(title=f"produced to {settings.topic}")
    for key, value in summary.as_dict().items():
        table.add_row(key, str(value))
    Console().print(table)
    if settings.stream == PURCHASES:
        typer.echo(f"ground truth: {settings.ground_truth_path}")
    if summary.failed:
        raise typer.Exit(1)
