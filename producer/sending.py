"""Sending messages to Kafka and waiting for every ack: one KafkaProducer per process.

kafka-python holds the GIL while it prepares each message, so one process keeps one core busy
while the broker needs little of another (docs/benchmarks.md, change 16). A large backlog is
therefore split by partition between processes: each partition's messages still leave in
sequence order from a single producer, so the order Kafka keeps per key is the order of the
sequence, and a resumed run can tell per partition how far it got."""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from kafka import KafkaProducer
from kafka.partitioner.default import murmur2

from lakehouse.kafka_clients import python_client_options
from lakehouse.logs import get_logger
from lakehouse.settings import Settings

if TYPE_CHECKING:  # a spawned sender need not import Faker
    from producer.events import Message

log = get_logger("producer")

# The producer's Kafka settings (kafka-python names). `make bench` hands the same ones, with
# dots for underscores, to Kafka's own producer perf tool, its baseline.
# Large batches and zstd: kafka-python wakes its sender thread for every new batch, so small
# batches cost a socket write per few sends (docs/benchmarks.md, change 1).
PRODUCER_CONFIG: dict[str, Any] = {
    "acks": "all",
    "linger_ms": 100,
    "batch_size": 1024 * 1024,
    "compression_type": "zstd",
    "retries": 5,
    "max_request_size": 1024 * 1024,
}
PROGRESS_EVERY = 1_000  # messages between two progress reports (a report per message is dear)
# Fewer messages than this go out from the calling process: a sender process's start (a fresh
# interpreter, its imports, a connection and metadata) costs more than it saves.
PARALLEL_FROM = 20_000

Outbox = list[tuple[int, "Message"]]  # (partition, message), in sending order
Records = list[tuple[int, bytes, bytes]]  # (partition, key, value): what a sender sends
Routed = TypeVar("Routed", tuple[int, "Message"], tuple[int, bytes, bytes])  # partition first
Progress = Callable[[int], None]  # told how many more messages were handed to the producer


@dataclass
class Delivery:
    """What the broker acknowledged."""

    sent: int = 0
    failed: int = 0


def partition_for(key: bytes, partitions: int) -> int:
    """The partition kafka-python's default partitioner (like Kafka's Java client's) picks for
    a key: murmur2 of the key's bytes, made positive, modulo the partition count."""
    return (murmur2(key) & 0x7FFFFFFF) % partitions


def partitioned(messages: Sequence[Message], partitions: int) -> Outbox:
    """Each message with its key's partition. murmur2 in Python costs ~7 µs, so each distinct
    key is hashed once."""
    known: dict[bytes, int] = {}
    out: Outbox = []
    for message in messages:
        partition = known.get(message.key)
        if partition is None:
            partition = known[message.key] = partition_for(message.key, partitions)
        out.append((partition, message))
    return out


def not_held(outbox: list[Routed], held: Mapping[int, int]) -> list[Routed]:
    """The outbox without the first held[p] messages of each partition p's share: those
    the partition holds already."""
    seen: Counter[int] = Counter()
    out: list[Routed] = []
    for record in outbox:
        seen[record[0]] += 1
        if seen[record[0]] > held.get(record[0], 0):
            out.append(record)
    return out


def shares(outbox: list[Routed], senders: int) -> list[list[Routed]]:
    """The outbox split between `senders`: partition p's messages all go to sender p % senders,
    in their order."""
    out: list[list[Routed]] = [[] for _ in range(senders)]
    for record in outbox:
        out[record[0] % senders].append(record)
    return out


def records(outbox: Outbox) -> Records:
    """What the senders need of each message: its partition, key and value."""
    return [(partition, message.key, message.value) for partition, message in outbox]


def send(settings: Settings, outbox: Iterable[tuple[int, bytes, bytes]], *, rate: float = 0.0,
         on_progress: Progress = lambda n: None) -> Delivery:
    """Send the messages in order from one producer (at `rate` per second if > 0), then wait
    for every ack. A failed message is counted and logged, never silent. The outbox may be
    endless (live mode): acks already in are collected as it goes, so memory stays bounded."""
    producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap,
                             **python_client_options(settings), **PRODUCER_CONFIG,
                             client_id="purchases-producer")
    started = time.monotonic()
    delivery = Delivery()
    pending: deque[Any] = deque()
    i = 0
    for i, (partition, key, value) in enumerate(outbox, start=1):
        pending.append(producer.send(settings.topic, key=key, value=value, partition=partition))
        if rate > 0:
            delay = started + i / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        if i % PROGRESS_EVERY == 0:
            on_progress(PROGRESS_EVERY)
            while pending and pending[0].is_done:
                _collect(pending.popleft(), delivery)
    on_progress(i % PROGRESS_EVERY)
    producer.flush()
    while pending:
        _collect(pending.popleft(), delivery)
    producer.close()
    return delivery


def _collect(future: Any, delivery: Delivery) -> None:
    try:
        future.get(timeout=30)
        delivery.sent += 1
    except Exception as exc:  # noqa: BLE001 - counted and reported, never silent
        delivery.failed += 1
        log.error("send_failed", error=str(exc))


def _sender(settings: Settings, outbox: Records, handed: Any, results: Any) -> None:
    """A sender process: `send`, adding its progress to `handed`; the delivery, or the error's
    text, goes to `results`."""

    def advance(n: int) -> None:
        with handed.get_lock():
            handed.value += n

    try:
        results.put(send(settings, outbox, on_progress=advance))
    except Exception as exc:  # reported to the parent, which raises it
        results.put(f"{type(exc).__name__}: {exc}")


def send_in_parallel(settings: Settings, outboxes: Sequence[Records],
                     on_progress: Progress = lambda n: None) -> Delivery:
    """`send` each outbox from a process of its own, reporting their summed progress; the
    deliveries added up. The processes are spawned, not forked: a forked one would map (and
    be measured with) the parent's whole heap, the generated messages included."""
    context = multiprocessing.get_context("spawn")
    handed = context.Value("q", 0)  # messages handed to the producers, all processes together
    results = context.SimpleQueue()
    workers = [context.Process(target=_sender, args=(settings, outbox, handed, results),
                               name=f"producer-{i}", daemon=True)
               for i, outbox in enumerate(outboxes)]
    for worker in workers:
        worker.start()
    reported = 0
    while running := [worker.sentinel for worker in workers if worker.is_alive()]:
        multiprocessing.connection.wait(running, timeout=0.2)
        on_progress(handed.value - reported)
        reported = handed.value
    on_progress(handed.value - reported)
    for worker in workers:
        worker.join()
    outcomes = []
    while not results.empty():
        outcomes.append(results.get())
    errors = [outcome for outcome in outcomes if isinstance(outcome, str)]
    if errors or len(outcomes) < len(workers):
        codes = [worker.exitcode for worker in workers]
        raise RuntimeError(f"a producer process failed: {'; '.join(errors) or f'exit codes {codes}'}")
    return Delivery(sum(outcome.sent for outcome in outcomes),
                    sum(outcome.failed for outcome in outcomes))
