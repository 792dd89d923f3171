"""The hours a silver batch looks up for duplicates (pure)."""

from datetime import UTC, datetime, timedelta

from spark_jobs.silver_writer import hour_ranges

H = timedelta(hours=1)
T0 = datetime(2026, 11, 1, tzinfo=UTC)


def test_consecutive_hours_become_one_range_and_gaps_stay_open():
    hours = [T0, T0 + H, T0 + 2 * H, T0 + 10 * H, T0 + 3 * H]
    assert hour_ranges(hours) == [(T0, T0 + 4 * H), (T0 + 10 * H, T0 + 11 * H)]


def test_no_hours_no_ranges():
    assert hour_ranges([]) == []


def test_past_the_cap_the_narrowest_gaps_close_and_every_hour_stays_covered():
    hours = [T0 + i * 3 * H for i in range(40)] + [T0 + 500 * H]
    ranges = hour_ranges(hours, max_ranges=8)
    assert len(ranges) == 8
    assert all(any(start <= h < end for start, end in ranges) for h in hours)
    assert ranges[-1] == (T0 + 500 * H, T0 + 501 * H)  # the far-off hour keeps its own range
    assert all(a[1] < b[0] for a, b in zip(ranges, ranges[1:], strict=False))
