"""Kafka topic administration shared by the producer, the demo, the benchmark and the tests."""

from __future__ import annotations

import time

from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka.admin import NewTopic
from kafka.errors import TopicAlreadyExistsError
from tenacity import retry, retry_if_result, stop_after_delay, wait_fixed

from lakehouse.kafka_clients import python_client_options
from lakehouse.settings import Settings


def ensure_topic(settings: Settings) -> None:
    """Create the topic if it is missing (idempotent)."""
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap, client_id="lakehouse-admin",
                             **python_client_options(settings))
    try:
        if settings.topic in admin.list_topics():
            return
        admin.create_topics(
            [NewTopic(settings.topic, settings.topic_partitions, replication_factor=1)]
        )
    except TopicAlreadyExistsError:
        pass
    finally:
        admin.close()


def held_by_partition(settings: Settings) -> dict[int, int]:
    """Messages each partition of the topic currently holds (end minus beginning offset);
    empty when the topic does not exist."""
    consumer = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False,
                             **python_client_options(settings))
    try:
        partitions = consumer.partitions_for_topic(settings.topic) or set()
        tps = [TopicPartition(settings.topic, p) for p in sorted(partitions)]
        if not tps:
            return {}
        ends = consumer.end_offsets(tps)
        begins = consumer.beginning_offsets(tps)
        return {tp.partition: ends[tp] - begins[tp] for tp in tps}
    finally:
        consumer.close()


def last_values(settings: Settings, partitions: list[int], timeout_s: float = 10.0) -> dict[int, bytes]:
    """The value of the last message each of `partitions` holds (partitions holding none are
    left out)."""
    consumer = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False,
                             **python_client_options(settings))
    try:
        tps = [TopicPartition(settings.topic, p) for p in partitions]
        ends = consumer.end_offsets(tps)
        wanted = [tp for tp in tps if ends[tp] > 0]
        consumer.assign(wanted)
        for tp in wanted:
            consumer.seek(tp, ends[tp] - 1)
        out: dict[int, bytes] = {}
        deadline = time.monotonic() + timeout_s
        while len(out) < len(wanted) and time.monotonic() < deadline:
            for tp, batch in consumer.poll(timeout_ms=500).items():
                out[tp.partition] = batch[-1].value
        return out
    finally:
        consumer.close()


@retry(retry=retry_if_result(lambda held: not held), stop=stop_after_delay(30), wait=wait_fixed(0.5),
       retry_error_callback=lambda state: {})
def partitions_of_new_topic(settings: Settings) -> dict[int, int]:
    """held_by_partition for a topic just created: a cluster's metadata may not show it at once
    (given up after 30 s, empty)."""
    return held_by_partition(settings)


def message_count(settings: Settings) -> int:
    """Messages currently held by the topic, all partitions together."""
    return sum(held_by_partition(settings).values())
