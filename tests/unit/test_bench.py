"""make bench's pure parts: percentiles, rates, ratios, goals, the table and the parsers."""

from __future__ import annotations

import json
import math

import pytest
from rich.console import Console

from bench import parsing
from bench.figures import (
    GOALS,
    SIZES,
    Figure,
    Goal,
    Report,
    concurrent_drain_rate,
    drain_rate,
    figures_table,
    highest_sustained,
    human,
    interval_seconds,
    percentile,
    rate,
    ratio,
    split_at,
    sustained,
)


def test_percentile_interpolates_between_closest_ranks() -> None:
    values = [float(v) for v in range(1, 101)]  # 1..100
    assert percentile(values, 50) == pytest.approx(50.5)
    assert percentile(values, 95) == pytest.approx(95.05)
    assert percentile(values, 99) == pytest.approx(99.01)
    assert percentile(values, 0) == 1.0
    assert percentile(values, 100) == 100.0
    assert percentile([3.0, 1.0, 2.0], 50) == 2.0  # order does not matter
    assert percentile([7.5], 95) == 7.5
    assert math.isnan(percentile([], 50))
    with pytest.raises(ValueError):
        percentile(values, 101)


def test_rate_and_ratio() -> None:
    assert rate(1_000_000, 8.0) == 125_000.0
    assert math.isnan(rate(10, 0.0))
    assert ratio(30_000.0, 120_000.0) == 0.25
    assert ratio(None, 1.0) is None
    assert ratio(1.0, 0.0) is None
    assert ratio(math.nan, 1.0) is None


def test_drain_rate_counts_only_batches_with_rows() -> None:
    metrics = [
        {"input_rows": 50_000, "batch_seconds": 10.0},
        {"input_rows": 30_000, "batch_seconds": 5.0},
        {"input_rows": 0, "batch_seconds": 0.05},  # the idle batch that ends a drain
    ]
    assert drain_rate(metrics) == (80_000, 15.0)
    assert drain_rate([]) == (0, 0)


def _figures() -> list[Figure]:
    return [
        Figure("producer", "events/s", 6_000.0, "kafka ProducerPerformance", 30_000.0),
        Figure("silver drain vs spark read+count", "rows/s", 10_000.0, "spark read+count", 40_000.0),
        Figure("freshness p95", "s", 2.4, "kafka consumer", 0.01),
        Figure("dbt build incremental", "s", 75.0, "dbt build full", 150.0),
        Figure("stack peak resident memory", "MiB", 4_000.0),
        Figure("silver drain peak resident memory", "MiB", 2_600.0),
    ]


def test_goals_check_values_and_ratios() -> None:
    figures = _figures()
    by_name = {g.figure: g for g in GOALS}
    producer = by_name["producer"]
    assert producer.actual(figures) == pytest.approx(0.2)
    assert producer.met(figures) is False  # 0.2 < 0.25
    assert by_name["silver drain vs spark read+count"].met(figures) is False  # 0.25 < 0.5
    assert by_name["freshness p95"].met(figures) is True  # 2.4 <= 3
    assert by_name["dbt build incremental"].met(figures) is False  # 75 / 150 = 0.5 > 0.3
    assert by_name["stack peak resident memory"].met(figures) is True  # 4000 MiB <= 6 GiB
    assert by_name["silver drain peak resident memory"].met(figures) is False  # 2600 > 2560
    assert by_name["ml scoring"].met(figures) is None  # not measured
    assert Goal("producer", "ratio", ">=", 0.2).met(figures) is True  # the bound itself passes


def test_report_document_holds_figures_ratios_and_goals() -> None:
    report = Report("run-1", SIZES["small"], {"cpus": 2}, _figures(),
                    peak_rss_mib={"kafka broker": 512.26}, stage_seconds={"producer": 3.14159})
    document = json.loads(json.dumps(report.as_dict()))
    producer = next(f for f in document["figures"] if f["name"] == "producer")
    assert producer["ratio"] == 0.2
    assert producer["baseline"] == 30_000.0
    goals = {g["figure"]: g for g in document["goals"]}
    assert goals["freshness p95"] == {"figure": "freshness p95", "goal": "value <= 3",
                                      "actual": 2.4, "met": True}
    assert goals["ml scoring"]["met"] is None
    assert document["peak_rss_mib"] == {"kafka broker": 512.3}
    assert document["stage_seconds"] == {"producer": 3.14}
    assert document["size"]["events"] == SIZES["small"].events == 5_000


def test_table_shows_each_figure_with_ratio_and_verdict() -> None:
    report = Report("run-1", SIZES["full"], {}, _figures())
    console = Console(width=200, record=True)
    console.print(figures_table(report))
    text = console.export_text()
    assert "SIZE=full" in text
    producer_line = next(line for line in text.splitlines() if "producer" in line)
    assert "6,000" in producer_line and "30,000" in producer_line and "0.200" in producer_line
    assert "MISSED" in producer_line
    freshness_line = next(line for line in text.splitlines() if "freshness p95" in line)
    assert "met" in freshness_line and "MISSED" not in freshness_line


def test_freshness_splits_the_first_minute_from_the_steady_state() -> None:
    stamped = [(100.0, 9.0), (130.0, 5.0), (159.9, 4.0), (160.0, 1.0), (200.0, 1.5)]
    first, steady = split_at(stamped, 160.0)
    assert first == [9.0, 5.0, 4.0]
    assert steady == [1.0, 1.5]  # the boundary itself is steady state
    assert split_at([], 1.0) == ([], [])


def test_a_rate_is_sustained_when_batches_beat_the_trigger_and_the_wait_does_not_grow() -> None:
    steady = [(float(t), 0.8 + (t % 3) * 0.1) for t in range(90)]  # the wait stays near 0.9 s
    kept = sustained(2_000, [0.6, 0.7, 0.9], steady, interval=1.0)
    assert kept.kept_up and kept.mean_batch_seconds == pytest.approx(0.7333, abs=1e-3)
    assert kept.as_dict()["kept_up"] is True

    slow = sustained(4_000, [1.2, 1.3, 1.1], steady, interval=1.0)
    assert not slow.kept_up  # batches longer than the trigger on average

    growing = [(float(t), 0.5 + t * 0.05) for t in range(90)]  # each row waits longer
    behind = sustained(8_000, [0.9, 0.9], growing, interval=1.0)
    assert behind.last_third_latency - behind.first_third_latency > 1.0
    assert not behind.kept_up

    assert not sustained(1_000, [], [], interval=1.0).kept_up  # nothing measured: not kept up
    assert highest_sustained([kept, slow, kept]) == 2_000  # stops at the first it missed
    assert highest_sustained([slow]) == 0.0
    assert highest_sustained([]) == 0.0


def test_trigger_intervals() -> None:
    assert interval_seconds("1 second") == 1.0
    assert interval_seconds("500 milliseconds") == 0.5
    assert interval_seconds("2 Minutes") == 120.0
    with pytest.raises(ValueError, match="not a trigger interval"):
        interval_seconds("soon")


def test_human_numbers() -> None:
    assert human(1_234_567.8) == "1,234,568"
    assert human(2.345) == "2.35"
    assert human(None) == "-"
    assert human(math.nan) == "-"


def test_sizes() -> None:
    assert SIZES["full"].events == 1_000_000
    assert SIZES["full"].freshness_seconds * SIZES["full"].freshness_rate == 240_000
    assert SIZES["full"].first_minute_seconds == 60
    assert list(SIZES["full"].sustained_rates) == sorted(SIZES["full"].sustained_rates)
    assert SIZES["small"].events < SIZES["full"].events
    from bench.stages import STAGES

    names = [stage.__name__.removeprefix("measure_") for stage in STAGES]
    assert list(SIZES["full"].stages) == names  # the full run measures everything
    assert set(SIZES["small"].stages) < set(names) and "dbt" not in SIZES["small"].stages


PRODUCER_PERF = """\
90001 records sent, 18000.2 records/sec (9.18 MB/sec), 1712.3 ms avg latency, 2374.0 ms max latency.
200000 records sent, 27517.9 records/sec (14.04 MB/sec), 1695.35 ms avg latency, 2374.00 ms max \
latency, 1907 ms 50th, 2288 ms 95th, 2358 ms 99th, 2367 ms 99.9th.
"""

CONSUMER_PERF = """\
start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, \
rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec
2026-11-23 07:40:41:473, 2026-11-23 07:40:43:252, 102.0432, 57.3598, 200000, 112422.7094, 682, \
1097, 93.0202, 182315.4057
"""


def test_parse_kafka_perf_tools() -> None:
    assert parsing.producer_perf_rate(PRODUCER_PERF) == 27517.9  # the summary, not a window
    consumer = parsing.consumer_perf(CONSUMER_PERF)
    assert consumer["fetch.nMsg.sec"] == 182315.4057
    assert consumer["nMsg.sec"] == 112422.7094
    assert consumer["data.consumed.in.nMsg"] == 200000
    assert "start.time" not in consumer  # not a number
    with pytest.raises(parsing.OutputError):
        parsing.producer_perf_rate("90001 records sent, 18000.2 records/sec (9.18 MB/sec)")
    with pytest.raises(parsing.OutputError):
        parsing.consumer_perf("nothing here")


def test_parse_structured_log_lines() -> None:
    text = (
        "26/11/23 07:46:03 WARN Spark3Util: Failed to load catalog: silver\n"
        "timestamp='2026-11-23T07:44:47Z' level='info' component='producer' event='produced' "
        "topic='bench backlog' sent=20000 failed=0 seconds=5.21\n"
        "timestamp='2026-11-23T07:45:47Z' level='info' component='producer' event='produced' "
        "topic='t' sent=30 failed=0 seconds=0.5\n"
    )
    events = parsing.log_events(text, "produced")
    assert [e["sent"] for e in events] == [20000, 30]
    assert events[0]["topic"] == "bench backlog"  # quoted values keep their spaces
    assert events[0]["seconds"] == 5.21
    assert parsing.last_log_event(text, "produced")["sent"] == 30
    with pytest.raises(parsing.OutputError):
        parsing.last_log_event(text, "scored")


def test_queries_draining_side_by_side_count_their_overlap_once():
    one = [{"timestamp": "2026-12-07T10:00:00.000Z", "batch_seconds": 4.0, "input_rows": 400},
           {"timestamp": "2026-12-07T10:00:04.000Z", "batch_seconds": 2.0, "input_rows": 200},
           {"timestamp": "2026-12-07T10:00:06.000Z", "batch_seconds": 0.1, "input_rows": 0}]
    other = [{"timestamp": "2026-12-07T10:00:01.000Z", "batch_seconds": 6.0, "input_rows": 300}]
    assert concurrent_drain_rate([one, other]) == (900, 7.0)
    assert concurrent_drain_rate([one]) == (600, 6.0) and drain_rate(one) == (600, 6.0)
    assert concurrent_drain_rate([[]]) == (0, 0.0)


def test_a_snapshot_is_seen_in_the_view_with_the_first_answer_counting_all_its_rows():
    from bench.freshness import first_answers

    snapshots = [(1, 100), (2, 0), (3, 50), (4, 25)]  # 100, 100, 150, 175 rows through each
    answers = [(10.0, 100), (11.0, 120), (12.5, 150), (12.0, 99)]
    assert first_answers(snapshots, answers) == {1: 10.0, 2: 10.0, 3: 12.5}
    assert first_answers(snapshots, []) == {}
