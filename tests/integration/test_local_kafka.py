import os

import pytest
from kafka import KafkaConsumer, KafkaProducer

from lakehouse.kafka_topics import ensure_topic, message_count
from lakehouse.settings import Settings
from ops import local_kafka
from ops.local_kafka import free_port_pair

pytestmark = pytest.mark.integration


def test_up_is_idempotent_and_down_stops_exactly_that_process(tmp_path):
    settings = Settings(home=tmp_path, kafka_bootstrap=f"127.0.0.1:{free_port_pair()}",
                        topic="roundtrip")
    pid = local_kafka.start(settings)
    try:
        assert local_kafka.start(settings) == pid  # second `up` finds the same broker
        assert local_kafka.status(settings) == pid
        ensure_topic(settings)
        ensure_topic(settings)  # idempotent too
        producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all")
        for i in range(25):
            producer.send(settings.topic, key=b"k", value=f"m{i}".encode())
        producer.flush()
        producer.close()
        assert message_count(settings) == 25
        consumer = KafkaConsumer(settings.topic, bootstrap_servers=settings.kafka_bootstrap,
                                 auto_offset_reset="earliest", consumer_timeout_ms=5000)
        assert sorted(m.value for m in consumer) == sorted(f"m{i}".encode() for i in range(25))
        consumer.close()
    finally:
        assert local_kafka.stop(settings) is True
    assert local_kafka.status(settings) is None
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert local_kafka.stop(settings) is False  # `down` twice is harmless


def test_a_taken_port_gives_a_clear_error(tmp_path, kafka_bootstrap):
    settings = Settings(home=tmp_path, kafka_bootstrap=kafka_bootstrap)  # the shared broker's port
    with pytest.raises(local_kafka.BrokerError, match="taken"):
        local_kafka.start(settings)
