"""The producer's split of a backlog between processes: pure functions, no broker."""

from __future__ import annotations

import random

from kafka.partitioner.default import DefaultPartitioner

from producer.events import Message
from producer.sending import not_held, partition_for, partitioned, shares


def messages(n: int, keys: int = 37) -> list[Message]:
    rng = random.Random(3)
    return [Message(f"C{rng.randrange(keys):05d}".encode(), f"m{i}".encode(), "valid")
            for i in range(n)]


class Cluster:
    """The two questions kafka-python's partitioner asks of its cluster metadata."""

    def __init__(self, partitions: int) -> None:
        self.partitions = set(range(partitions))

    def topics(self) -> set[str]:
        return {"t"}

    def partitions_for_topic(self, topic: str) -> set[int]:
        return self.partitions

    available_partitions_for_topic = partitions_for_topic


def test_a_key_goes_where_kafka_pythons_default_partitioner_sends_it():
    default = DefaultPartitioner()
    for partitions in (1, 2, 3, 7, 12):
        cluster = Cluster(partitions)
        for key in [f"C{i:05d}".encode() for i in range(300)] + [b"", b"\xff\x00x"]:
            assert partition_for(key, partitions) == default.partition("t", key, key, b"", b"", cluster)


def test_shares_give_each_partition_to_one_sender_in_sequence_order():
    outbox = partitioned(messages(2_000), 5)
    split = shares(outbox, 2)
    assert sorted(m.value for part in split for _, m in part) == sorted(m.value for _, m in outbox)
    for partition in range(5):
        holders = [i for i, part in enumerate(split) if any(p == partition for p, _ in part)]
        assert holders == [partition % 2]
        in_share = [m for p, m in split[partition % 2] if p == partition]
        assert in_share == [m for p, m in outbox if p == partition]  # same order


def test_not_held_skips_what_each_partition_holds_already():
    outbox = partitioned(messages(1_000), 3)
    per_partition = {p: [m for q, m in outbox if q == p] for p in range(3)}
    held = {0: 10, 1: len(per_partition[1]), 2: 0}  # partition 1 complete, 0 part-way, 2 empty
    rest = not_held(outbox, held)
    for p in range(3):
        assert [m for q, m in rest if q == p] == per_partition[p][held[p]:]
    assert not_held(outbox, {}) == outbox
