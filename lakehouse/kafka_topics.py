"""Kafka topic administration shared by the producer, the demo and the tests."""

from __future__ import annotations

from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka.admin import NewTopic
from kafka.errors import TopicAlreadyExistsError

from lakehouse.settings import Settings


def ensure_topic(settings: Settings) -> None:
    """Create the topic if it is missing (idempotent)."""
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap, client_id="lakehouse-admin",
                             **settings.kafka_python_options())
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
                             **settings.kafka_python_options())
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


def message_count(settings: Settings) -> int:
    """Messages currently held by the topic, all partitions together."""
    return sum(held_by_partition(settings).values())
