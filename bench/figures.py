"""The benchmark's figures, baselines, ratios and goals, and the table that shows them. Pure:
numbers in, numbers and text out; the runners (bench.stages) measure them."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Literal

from rich.table import Table

MIB = 1024 * 1024
GIB = 1024 * MIB


@dataclass(frozen=True)
class Size:
    """How much each stage runs on."""

    name: str
    events: int  # the backlog the producer sends and bronze and silver drain
    freshness_seconds: float  # how long the steady state is measured, after the first minute
    freshness_rate: float  # the steady producer's events per second
    incremental_events: int  # new silver rows before the incremental dbt build
    # The freshness run's first stretch at the steady rate, reported apart: the catch-up after
    # the job's start (cold JIT, first commits) rather than the steady state.
    first_minute_seconds: float = 60
    # The rates the sustained stage offers silver (1-second trigger), lowest first, and how
    # long each is held; it stops at the first rate silver does not sustain.
    sustained_rates: tuple[float, ...] = (1_000, 2_000, 4_000, 8_000, 16_000)
    sustained_seconds: float = 30
    # silver commits the orchestration stage times to gold published, and events in each
    orchestration_rounds: int = 6
    orchestration_events: int = 500
    # Messages of each of the six streams that the streams stage drains.
    stream_events: int = 100_000
    # The stages a run of this size measures (`--only` picks others).
    stages: tuple[str, ...] = ("producer", "drains", "streams", "dbt", "ml", "dashboard",
                               "freshness", "serving", "sustained", "orchestration")


SIZES = {
    "full": Size("full", events=1_000_000, freshness_seconds=120, freshness_rate=2_000,
                 incremental_events=10_000),
    # The quick check, under two minutes on 2 cores: dbt's two builds alone take about two
    # minutes whatever the size (75 nodes), so they and ml (which reads gold) are left to
    # `--size small --only dbt --only ml` or the full run.
    "small": Size("small", events=5_000, freshness_seconds=10, freshness_rate=2_000,
                  incremental_events=1_000, first_minute_seconds=5, orchestration_rounds=2,
                  sustained_rates=(1_000, 4_000), sustained_seconds=8, stream_events=3_000,
                  stages=("producer", "drains", "freshness")),
}


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100) by linear interpolation between closest ranks (numpy's
    default). NaN for no values."""
    if not 0 <= q <= 100:
        raise ValueError(f"percentile must be within 0..100, not {q}")
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def rate(count: float, seconds: float) -> float:
    """Count per second; NaN when no time passed."""
    return count / seconds if seconds > 0 else math.nan


def ratio(ours: float | None, baseline: float | None) -> float | None:
    """ours / baseline, or None when either is missing or the baseline is zero."""
    if ours is None or baseline is None or baseline == 0 or math.isnan(ours) or math.isnan(baseline):
        return None
    return ours / baseline


def drain_rate(metrics: Sequence[dict[str, Any]]) -> tuple[int, float]:
    """Rows and seconds of the micro-batches of a drain, from the metrics lines a streaming job
    writes (lakehouse settings.metrics_path): the time is the batches' own, without the JVM's
    start."""
    batches = [m for m in metrics if m.get("input_rows", 0) > 0]
    return (sum(int(m["input_rows"]) for m in batches),
            sum(float(m["batch_seconds"]) for m in batches))


def concurrent_drain_rate(runs: Sequence[Sequence[dict[str, Any]]]) -> tuple[int, float]:
    """Rows and seconds of queries draining side by side (one metrics list each): all their
    rows over the wall time from the first batch's start to the last one's end, so overlapping
    batches count once. One query's batches back to back give about `drain_rate`'s seconds."""
    batches = [m for metrics in runs for m in metrics if m.get("input_rows", 0) > 0]
    if not batches:
        return 0, 0.0
    starts = [datetime.fromisoformat(m["timestamp"].replace("Z", "+00:00")).timestamp() for m in batches]
    ends = [start + float(m["batch_seconds"]) for start, m in zip(starts, batches, strict=True)]
    return sum(int(m["input_rows"]) for m in batches), max(ends) - min(starts)


def split_at(stamped: Sequence[tuple[float, float]], boundary: float) -> tuple[list[float], list[float]]:
    """(stamp, value) pairs split into the values stamped before `boundary` and the others."""
    before = [value for stamp, value in stamped if stamp < boundary]
    after = [value for stamp, value in stamped if stamp >= boundary]
    return before, after


@dataclass(frozen=True)
class Sustained:
    """Whether silver kept up with one offered rate: its batches shorter than the trigger on
    average and the rows' wait not growing (the median latency of the last third of the rows,
    by Kafka timestamp, at most one trigger interval above the first third's)."""

    rate: float
    batches: int
    mean_batch_seconds: float
    first_third_latency: float
    last_third_latency: float
    interval: float

    @property
    def kept_up(self) -> bool:
        return (self.batches > 0 and self.mean_batch_seconds <= self.interval
                and self.last_third_latency <= self.first_third_latency + self.interval)

    def as_dict(self) -> dict[str, Any]:
        return {**{k: _rounded(v, 3) if isinstance(v, float) else v
                   for k, v in asdict(self).items()}, "kept_up": self.kept_up}


def sustained(offered: float, batch_seconds: Sequence[float],
              stamped_latencies: Sequence[tuple[float, float]], interval: float) -> Sustained:
    """The verdict on one offered rate from its batches' durations and its rows'
    (Kafka timestamp, latency) pairs."""
    ordered = [latency for _, latency in sorted(stamped_latencies)]
    third = max(1, len(ordered) // 3)
    return Sustained(
        offered, len(batch_seconds),
        sum(batch_seconds) / len(batch_seconds) if batch_seconds else math.nan,
        percentile(ordered[:third], 50), percentile(ordered[-third:], 50), interval)


def highest_sustained(verdicts: Sequence[Sustained]) -> float:
    """The highest offered rate kept up with below the first one that was not; 0 for none."""
    best = 0.0
    for verdict in verdicts:
        if not verdict.kept_up:
            break
        best = verdict.rate
    return best


def interval_seconds(interval: str) -> float:
    """Seconds of a Spark trigger interval such as "1 second", "500 milliseconds", "2 minutes"."""
    units = {"millisecond": 0.001, "second": 1.0, "minute": 60.0, "hour": 3600.0}
    try:
        amount, unit = interval.split()
        return float(amount) * units[unit.lower().removesuffix("s")]
    except (ValueError, KeyError):
        raise ValueError(f"not a trigger interval: {interval!r} (e.g. '1 second')") from None


@dataclass(frozen=True)
class Figure:
    """One measured figure beside its baseline from the same run."""

    name: str
    unit: str
    ours: float | None
    baseline_name: str | None = None
    baseline: float | None = None
    note: str = ""

    @property
    def ratio(self) -> float | None:
        return ratio(self.ours, self.baseline)

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ratio": _rounded(self.ratio, 4)}


@dataclass(frozen=True)
class Goal:
    """A target for one figure's value (`of`="ours") or its ratio to the baseline."""

    figure: str
    of: Literal["ours", "ratio"]
    op: Literal[">=", "<="]
    target: float

    def actual(self, figures: Sequence[Figure]) -> float | None:
        found = next((f for f in figures if f.name == self.figure), None)
        if found is None:
            return None
        return found.ours if self.of == "ours" else found.ratio

    def met(self, figures: Sequence[Figure]) -> bool | None:
        """None when the figure was not measured."""
        value = self.actual(figures)
        if value is None or math.isnan(value):
            return None
        return value >= self.target if self.op == ">=" else value <= self.target

    def describe(self) -> str:
        return f"{'ratio' if self.of == 'ratio' else 'value'} {self.op} {self.target:g}"


GOALS = (
    Goal("producer", "ratio", ">=", 0.25),
    Goal("silver drain vs spark read+count", "ratio", ">=", 0.5),
    Goal("freshness p95", "ours", "<=", 3.0),  # steady state, after the first minute
    Goal("dbt build incremental", "ratio", "<=", 0.3),  # of the full build
    Goal("ml scoring", "ratio", ">=", 0.5),  # of scikit-learn's score_samples, same matrix
    Goal("silver drain peak resident memory", "ours", "<=", 2.5 * 1024),  # MiB
    Goal("stack peak resident memory", "ours", "<=", 6 * 1024),  # MiB
)


@dataclass
class Report:
    """Everything one run measured, as the JSON document and the table."""

    run_id: str
    size: Size
    machine: dict[str, Any]
    figures: list[Figure] = field(default_factory=list)
    peak_rss_mib: dict[str, float] = field(default_factory=dict)  # process -> peak MiB
    stage_seconds: dict[str, float] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)

    def goals(self) -> list[dict[str, Any]]:
        return [
            {"figure": g.figure, "goal": g.describe(), "actual": _rounded(g.actual(self.figures), 4),
             "met": g.met(self.figures)}
            for g in GOALS
        ]

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "size": asdict(self.size),
            "machine": self.machine,
            "figures": [f.as_dict() for f in self.figures],
            "goals": self.goals(),
            "peak_rss_mib": {k: round(v, 1) for k, v in self.peak_rss_mib.items()},
            "stage_seconds": {k: round(v, 2) for k, v in self.stage_seconds.items()},
            "details": self.details,
        }


def _rounded(value: float | None, digits: int) -> float | None:
    if value is None or math.isnan(value):
        return None
    return round(value, digits)


def human(value: float | None) -> str:
    """A figure for the table: thousands separated, three significant digits below 100."""
    if value is None or math.isnan(value):
        return "-"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def figures_table(report: Report) -> Table:
    goals = {g.figure: g for g in GOALS}
    table = Table(title=f"make bench SIZE={report.size.name} ({report.run_id})")
    for column, justify in (("figure", "left"), ("unit", "left"), ("ours", "right"),
                            ("baseline", "left"), ("baseline value", "right"),
                            ("ratio", "right"), ("goal", "left")):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for figure in report.figures:
        goal = goals.get(figure.name)
        verdict = ""
        if goal is not None:
            met = goal.met(report.figures)
            verdict = f"{goal.describe()}: {'-' if met is None else 'met' if met else 'MISSED'}"
        table.add_row(figure.name, figure.unit, human(figure.ours), figure.baseline_name or "-",
                      human(figure.baseline), "-" if figure.ratio is None else f"{figure.ratio:.3f}",
                      verdict)
    return table


def memory_table(report: Report) -> Table:
    table = Table(title="peak resident memory (process tree)")
    table.add_column("process")
    table.add_column("MiB", justify="right")
    for name, mib in report.peak_rss_mib.items():
        table.add_row(name, f"{mib:,.0f}")
    return table
