"""The producer against a real broker: processes that share the partitions keep each
partition in sequence order, and a resumed run sends exactly what each partition lacks."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from kafka import KafkaConsumer, TopicPartition

from lakehouse.kafka_topics import ensure_topic, held_by_partition
from producer.cli import ResumeMismatch, produce
from producer.events import GeneratorOptions, generate
from producer.sending import PARALLEL_FROM, partitioned, records, send

pytestmark = pytest.mark.integration


def topic_values(settings, partitions: int) -> dict[int, list[bytes]]:
    """Every message value of the topic, per partition, in offset order."""
    consumer = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False)
    tps = [TopicPartition(settings.topic, p) for p in range(partitions)]
    consumer.assign(tps)
    consumer.seek_to_beginning(*tps)
    ends = consumer.end_offsets(tps)
    out: dict[int, list[bytes]] = {p: [] for p in range(partitions)}
    while any(consumer.position(tp) < ends[tp] for tp in tps):
        for tp, batch in consumer.poll(timeout_ms=1_000).items():
            out[tp.partition].extend(r.value for r in batch)
    consumer.close()
    return out


def test_a_resumed_parallel_run_leaves_each_partition_with_its_share_once_and_in_order(settings):
    options = GeneratorOptions(count=PARALLEL_FROM * 7 // 4, seed=11, malformed_share=0.02,
                               duplicate_share=0.02)
    ensure_topic(settings)
    partitions = len(held_by_partition(settings))
    assert partitions == 2
    share = {p: [m.value for q, m in partitioned(list(generate(options)), partitions) if q == p]
             for p in range(partitions)}
    # A run stopped part-way: partition 0 got the first 10% of its share, partition 1 60%.
    # (Skipping as many messages of the sequence as the topic holds would re-send some of
    # partition 1's and never send the rest of partition 0's.)
    stopped = {0: len(share[0]) // 10, 1: len(share[1]) * 6 // 10}
    outbox = partitioned(list(generate(options)), partitions)
    seen = dict.fromkeys(range(partitions), 0)
    head = []
    for partition, message in outbox:
        seen[partition] += 1
        if seen[partition] <= stopped[partition]:
            head.append((partition, message))
    assert send(settings, records(head)).sent == len(head)
    assert options.count - len(head) >= PARALLEL_FROM  # enough left for the processes to share

    summary = produce(settings, options, resume=True, processes=2, show_progress=False)

    assert summary.senders == 2
    assert summary.failed == 0
    assert summary.skipped == len(head)
    assert summary.sent == options.count - len(head)
    assert topic_values(settings, partitions) == share  # nothing lost, nothing twice, in order
    again = produce(settings, options, resume=True, processes=2, show_progress=False)
    assert (again.sent, again.skipped) == (0, options.count)


def test_resuming_a_complete_topic_sends_nothing_even_when_the_clock_moved_the_shares(settings):
    """`make demo` run again hours later: its sequence's event times end at a later hour, which
    picks other customers (keys) for some events, so the partitions' shares differ from what
    the first run sent; the topic holds the whole count all the same."""
    # a fixed hour: at some hours of the clock seven more hours happen to give the same shares
    first = GeneratorOptions(count=3_000, seed=17, malformed_share=0.02, duplicate_share=0.02,
                             end_time=datetime(2026, 1, 1, 12, tzinfo=UTC))
    later = replace(first, end_time=first.end_time + timedelta(hours=7))
    ensure_topic(settings)
    partitions = len(held_by_partition(settings))
    shares_of = [{p: sum(1 for q, _ in partitioned(list(generate(o)), partitions) if q == p)
                  for p in range(partitions)} for o in (first, later)]
    assert shares_of[0] != shares_of[1]  # the case this test is about

    assert produce(settings, first, resume=True, show_progress=False).sent == first.count
    again = produce(settings, later, resume=True, show_progress=False)

    assert (again.sent, again.skipped) == (0, later.count)
    assert sum(held_by_partition(settings).values()) == first.count


def test_resuming_with_another_count_is_refused_and_sends_nothing(settings):
    """Another --count of the same seed spreads the same events over other event times; its
    tail would re-send events the topic holds with times their first copies did not have."""
    first = GeneratorOptions(count=1_000, seed=23, duplicate_share=0.05)
    ensure_topic(settings)
    assert produce(settings, first, resume=True, show_progress=False).sent == first.count
    held = held_by_partition(settings)

    with pytest.raises(ResumeMismatch, match="another sequence"):
        produce(settings, replace(first, count=2_000), resume=True, show_progress=False)
    assert held_by_partition(settings) == held  # nothing sent

    # the same sequence again: the topic is complete, nothing is sent (the part-way case: above)
    again = produce(settings, first, resume=True, show_progress=False)
    assert (again.sent, again.skipped) == (0, first.count)
