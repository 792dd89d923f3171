"""The event-time ranges a silver batch looks up for duplicates (pure)."""

from datetime import UTC, datetime, timedelta

from spark_jobs.silver_writer import LOOKUP_STEP, lookup_ranges

H = timedelta(hours=1)
M = timedelta(minutes=1)
T0 = datetime(2026, 11, 1, tzinfo=UTC)


def test_consecutive_units_become_one_range_and_gaps_stay_open():
    hours = [T0, T0 + H, T0 + 2 * H, T0 + 10 * H, T0 + 3 * H]
    assert lookup_ranges(hours, step=H) == [(T0, T0 + 4 * H), (T0 + 10 * H, T0 + 11 * H)]


def test_the_default_unit_is_a_minute():
    # a steady stream's batch: events of two minutes in a row look up those two minutes only
    assert LOOKUP_STEP == M
    assert lookup_ranges([T0 + M, T0, T0 + M]) == [(T0, T0 + 2 * M)]


def test_no_units_no_ranges():
    assert lookup_ranges([]) == []


def test_past_the_cap_the_narrowest_gaps_close_and_every_unit_stays_covered():
    hours = [T0 + i * 3 * H for i in range(40)] + [T0 + 500 * H]
    ranges = lookup_ranges(hours, step=H, max_ranges=8)
    assert len(ranges) == 8
    assert all(any(start <= h < end for start, end in ranges) for h in hours)
    assert ranges[-1] == (T0 + 500 * H, T0 + 501 * H)  # the far-off hour keeps its own range
    assert all(a[1] < b[0] for a, b in zip(ranges, ranges[1:], strict=False))
