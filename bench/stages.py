"""The benchmark's stages on a broker, catalog and folders of its own: each measured stage runs
the project's own command line as a subprocess (producer, spark_jobs, lakehouse dbt, ml) and
its baseline runs on the same broker in the same run."""

from __future__ import annotations

import itertools
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import psutil
from pyiceberg.table import Table

from bench import parsing
from bench.figures import (
    MIB,
    Figure,
    Report,
    Size,
    Sustained,
    concurrent_drain_rate,
    drain_rate,
    highest_sustained,
    interval_seconds,
    percentile,
    rate,
    split_at,
    sustained,
)
from bench.freshness import POLL_SECONDS, KafkaFloor, SnapshotWatch, first_answers
from bench.processes import Finished, MemorySampler, Stage, StageFailed, run_stage
from bench.read_count import JOB as READ_COUNT_JOB
from lakehouse.catalog import iceberg_catalog
from lakehouse.contract import PURCHASES, stream_names
from lakehouse.kafka_topics import ensure_topic
from lakehouse.settings import GOLD_FACT_TABLE, PROJECT_ROOT, SILVER_TABLE, Settings
from ml import registry
from ml.anomalies import load_purchases
from ml.features import PURCHASE_COLUMNS, build_features
from ml.model import model_inputs
from ops import local_kafka
from producer.events import GeneratorOptions, generate
from producer.sending import PRODUCER_CONFIG

PERF_TOOL_HEAP = "-Xmx512m"
# The backlog looks like the demo's traffic: some anomalous, malformed and re-sent messages.
BACKLOG_SHARES = {"anomaly_share": 0.01, "malformed_share": 0.01, "duplicate_share": 0.01}
RECORD_SIZE_SAMPLE = 5_000
BROKER = "kafka broker"


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    cpu = next((line.split(":", 1)[1].strip() for line in _lines(Path("/proc/cpuinfo"))
                if line.startswith("model name")), platform.processor())
    java = subprocess.run([_java(), "-version"], capture_output=True, text=True).stderr
    return {
        "cpus": os.cpu_count(),
        "cpu_model": cpu,
        "memory_gib": round(psutil.virtual_memory().total / 1024**3, 1),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "java": java.splitlines()[0] if java else "unknown",
    }


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def _java() -> str:
    return shutil.which("java") or "java"


@dataclass
class Bench:
    """One run: its settings (own home, broker ports and topics), the memory sampler, the report
    it fills and a way to say what it is doing."""

    size: Size
    settings: Settings
    sampler: MemorySampler
    report: Report
    say: Callable[[str], None]
    freshness_interval: str

    @property
    def log_dir(self) -> Path:
        return self.settings.home / "logs"

    def topic(self, topic: str, home: Path | None = None) -> Settings:
        return replace_settings(self.settings, topic=topic, home=home or self.settings.home)

    def run(self, name: str, argv: Sequence[str], settings: Settings,
            timeout: float = 3600) -> Finished:
        finished = run_stage(name, argv, env_for(settings), PROJECT_ROOT, self.log_dir,
                             self.sampler, timeout)
        self.report.stage_seconds[name] = finished.seconds
        return finished

    def start(self, name: str, argv: Sequence[str], settings: Settings) -> Stage:
        return Stage(name, argv, env_for(settings), PROJECT_ROOT, self.log_dir, self.sampler)

    def add(self, figure: Figure) -> None:
        self.report.figures.append(figure)
        baseline = "" if figure.baseline is None else (
            f" | {figure.baseline_name}: {figure.baseline:,.2f}"
            + ("" if figure.ratio is None else f" | ratio {figure.ratio:.3f}"))
        ours = "-" if figure.ours is None else f"{figure.ours:,.2f}"
        self.say(f"  {figure.name}: {ours} {figure.unit}{baseline}")


def replace_settings(settings: Settings, **changes: Any) -> Settings:
    return settings.model_copy(update=changes)


def env_for(settings: Settings) -> dict[str, str]:
    """The environment that makes a subprocess see `settings`."""
    return {**os.environ, **settings.environment(), "PYTHONUNBUFFERED": "1"}


def python(*args: str) -> list[str]:
    return [sys.executable, *args]


def kafka_tool(settings: Settings, main_class: str, *args: str) -> list[str]:
    classpath = os.pathsep.join(str(p) for p in settings.kafka_jars)
    return [_java(), PERF_TOOL_HEAP, "-cp", classpath, main_class, *args]


def producer_args(count: int, seed: int, topic: str, **options: float | bool) -> list[str]:
    args = ["-m", "producer", "--count", str(count), "--seed", str(seed), "--topic", topic]
    for name, value in options.items():
        flag = f"--{name.replace('_', '-')}"
        if isinstance(value, bool):
            args += [flag] if value else []
        else:
            args += [flag, str(value)]
    return python(*args)


# ---------------------------------------------------------------- stages
def start_broker(bench: Bench) -> int:
    pid = local_kafka.start(bench.settings)
    bench.sampler.track(BROKER, pid)
    bench.say(f"broker started on {bench.settings.kafka_bootstrap} (pid {pid})")
    return pid


def stop_broker(bench: Bench) -> None:
    bench.sampler.sample()
    bench.sampler.untrack(BROKER)
    local_kafka.stop(bench.settings)


def measure_producer(bench: Bench) -> None:
    """Our producer fills the backlog topic; Kafka's producer perf tool sends as many records of
    the same mean size to a topic of its own, with the same producer settings."""
    size = bench.size
    backlog = bench.settings
    bench.say(f"producer: {size.events:,} events to {backlog.topic}")
    ensure_topic(backlog)
    produced = bench.run("producer", producer_args(size.events, 42, backlog.topic,
                                                   **BACKLOG_SHARES), backlog)
    summary = parsing.last_log_event(produced.stderr, "produced")
    sample = itertools.islice(generate(GeneratorOptions(count=size.events, **BACKLOG_SHARES)),
                              RECORD_SIZE_SAMPLE)
    values = [len(m.value) for m in sample]
    record_size = round(sum(values) / len(values))

    perf = bench.topic("bench_producer_perf")
    ensure_topic(perf)
    props = [f"{key.replace('_', '.')}={value}" for key, value in PRODUCER_CONFIG.items()]
    bench.say(f"kafka ProducerPerformance: {size.events:,} records of {record_size} bytes")
    tool = bench.run("kafka ProducerPerformance", kafka_tool(
        perf, "org.apache.kafka.tools.ProducerPerformance", "--topic", perf.topic,
        "--num-records", str(size.events), "--record-size", str(record_size),
        "--throughput", "-1", "--producer-props", f"bootstrap.servers={perf.kafka_bootstrap}",
        *props), perf)
    baseline = parsing.producer_perf_rate(tool.stdout)
    sent = int(summary["sent"])
    bench.add(Figure("producer", "events/s", rate(sent, float(summary["seconds"])),
                     "kafka ProducerPerformance", baseline,
                     note="sending and acks, after generating the events"))
    bench.add(Figure("producer incl. generating events", "events/s", rate(sent, produced.seconds),
                     "kafka ProducerPerformance", baseline,
                     note="the whole process: start, Faker generation, sending"))
    bench.report.details["record_size_bytes"] = record_size
    bench.report.details["producer_summary"] = summary


def measure_drains(bench: Bench) -> None:
    """Kafka's consumer perf tool and a Spark read-and-count query on the backlog topic, then
    bronze and silver draining it (available-now)."""
    backlog = bench.settings
    events = bench.size.events
    bench.say(f"kafka ConsumerPerformance: {events:,} messages")
    tool = bench.run("kafka ConsumerPerformance", kafka_tool(
        backlog, "org.apache.kafka.tools.ConsumerPerformance", "--bootstrap-server",
        backlog.kafka_bootstrap, "--topic", backlog.topic, "--messages", str(events),
        "--timeout", "60000"), backlog)
    consumer = parsing.consumer_perf(tool.stdout)
    # fetch.nMsg.sec: without the consumer group's join, as the Spark figures leave out the JVM start
    consumer_rate = consumer["fetch.nMsg.sec"]

    rates: dict[str, float] = {}
    for job, argv in (("spark read+count", python("-m", "bench.read_count")),
                      ("bronze", python("-m", "spark_jobs.bronze")),
                      ("silver", python("-m", "spark_jobs.silver"))):
        bench.say(f"{job}: draining {events:,} events (available-now)")
        bench.run(job, argv, backlog)
        metrics_job = READ_COUNT_JOB if job == "spark read+count" else job
        rows, seconds = drain_rate(_metrics(backlog, metrics_job))
        if rows != events:
            raise StageFailed(f"{job} read {rows} rows, the topic holds {events}")
        rates[job] = rate(rows, seconds)
        bench.report.details[f"{job} batches seconds"] = round(seconds, 2)
    bench.add(Figure("spark read+count", "rows/s", rates["spark read+count"],
                     "kafka ConsumerPerformance", consumer_rate))
    for job in ("bronze", "silver"):
        bench.add(Figure(f"{job} drain vs kafka consumer", "rows/s", rates[job],
                         "kafka ConsumerPerformance", consumer_rate))
        bench.add(Figure(f"{job} drain vs spark read+count", "rows/s", rates[job],
                         "spark read+count", rates["spark read+count"]))


def measure_streams(bench: Bench) -> None:
    """Silver draining every stream at once against silver draining one: the same backlog per
    stream (size.stream_events of each of the six contracts), drained (available-now) by one
    session running a query per stream, by six sessions side by side (a job per topic), and,
    the baseline, by one session on the purchases topic alone; each on a catalog of its own."""
    size, streams = bench.size, stream_names()
    prefix = "bench_streams_"
    topics = replace_settings(bench.settings, stream=PURCHASES, topic_prefix=prefix,
                              topic=prefix + PURCHASES)
    bench.say(f"streams: {size.stream_events:,} messages to each of {len(streams)} topics")
    for stream in streams:
        ensure_topic(topics.for_stream(stream))
        bench.run(f"producer ({stream})", producer_args(
            size.stream_events, 42, topics.for_stream(stream).topic, stream=stream,
            late_share=0.01, **BACKLOG_SHARES), topics)

    def at(name: str) -> Settings:
        return replace_settings(topics, home=bench.settings.home / "streams" / name)

    def stream_args(*names: str) -> list[str]:
        return python("-m", "spark_jobs.silver", *(arg for n in names for arg in ("--stream", n)))

    one = at("one")
    bench.say(f"silver: {PURCHASES} alone (one session)")
    bench.run("silver one stream", stream_args(PURCHASES), one)
    one_rows, one_seconds = concurrent_drain_rate([_metrics(one, "silver")])
    shared = at("one-session")
    bench.say(f"silver: {len(streams)} streams in one session")
    bench.run("silver six streams one session", stream_args("all"), shared)
    shared_rows, shared_seconds = concurrent_drain_rate(
        [_metrics(shared.for_stream(stream), "silver") for stream in streams])
    apart = at("six-sessions")
    bench.say(f"silver: {len(streams)} streams, a session each, side by side")
    jobs = [bench.start(f"silver session ({stream})", stream_args(stream), apart) for stream in streams]
    for job in jobs:
        finished = job.wait(3600)
        if finished.returncode != 0:
            raise StageFailed(f"{finished.name} exited {finished.returncode}; see {job.err_path}")
    apart_rows, apart_seconds = concurrent_drain_rate(
        [_metrics(apart.for_stream(stream), "silver") for stream in streams])
    expected = size.stream_events * len(streams)
    if (one_rows, shared_rows, apart_rows) != (size.stream_events, expected, expected):
        raise StageFailed(f"silver read {one_rows} / {shared_rows} / {apart_rows} rows of "
                          f"{size.stream_events} / {expected} / {expected}")
    one_rate = rate(one_rows, one_seconds)
    bench.add(Figure("silver drain, six streams in one session", "rows/s",
                     rate(shared_rows, shared_seconds), "silver drain, one stream", one_rate,
                     note="all six topics' rows over the wall time of their batches"))
    bench.add(Figure("silver drain, six streams in six sessions", "rows/s",
                     rate(apart_rows, apart_seconds), "silver drain, one stream", one_rate,
                     note="a job per topic, started together"))
    bench.report.details["streams"] = {
        "events_per_stream": size.stream_events,
        "one stream seconds": round(one_seconds, 2),
        "six streams one session seconds": round(shared_seconds, 2),
        "six streams six sessions seconds": round(apart_seconds, 2),
        "process seconds": {name: bench.report.stage_seconds.get(name) for name in (
            "silver one stream", "silver six streams one session")},
    }


def _metrics(settings: Settings, job: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in _lines(settings.metrics_path(job)) if line.strip()]


def _silver_rows(settings: Settings) -> int:
    snapshot = iceberg_catalog(settings).load_table(SILVER_TABLE).current_snapshot()
    return int(snapshot.summary["total-records"]) if snapshot and snapshot.summary else 0


def _dbt_build(bench: Bench, name: str) -> tuple[float, float | None]:
    """Wall seconds of `lakehouse dbt build` (what a user waits, Spark's start included) and
    dbt's own elapsed time from its run results. Both builds share one target folder, as a
    user's builds share dbt_project/target: the second parses only what changed."""
    target = bench.settings.home / "dbt"
    finished = bench.run(name, python("-m", "ops", "dbt", "build", "--target-path",
                                      str(target), "--log-path", str(target / "logs")),
                         bench.settings)
    results = target / "run_results.json"
    elapsed = json.loads(results.read_text()).get("elapsed_time") if results.exists() else None
    if results.exists():  # the next build overwrites it
        results.replace(target / f"run_results-{name.replace(' ', '_')}.json")
    return finished.seconds, elapsed


def measure_dbt(bench: Bench) -> None:
    """A full build on the drained silver, then an incremental one after new silver rows."""
    backlog = bench.settings
    silver_rows = _silver_rows(backlog)
    bench.say(f"dbt build (full) on {silver_rows:,} silver rows")
    full, full_elapsed = _dbt_build(bench, "dbt build full")
    bench.add(Figure("dbt build full", "s", full, note=f"{silver_rows} silver rows; dbt's own "
                     f"elapsed {full_elapsed}s"))

    new = bench.size.incremental_events
    bench.say(f"incremental: {new:,} new events -> silver, then dbt build")
    bench.run("producer (incremental)", producer_args(new, 4242, backlog.topic), backlog)
    bench.run("silver (incremental)", python("-m", "spark_jobs.silver"), backlog)
    added = _silver_rows(backlog) - silver_rows
    incremental, incremental_elapsed = _dbt_build(bench, "dbt build incremental")
    bench.add(Figure("dbt build incremental", "s", incremental, "dbt build full", full,
                     note=f"{added} new silver rows; dbt's own elapsed {incremental_elapsed}s"))
    bench.report.details["dbt"] = {"silver_rows": silver_rows, "new_silver_rows": added,
                                   "full_elapsed": full_elapsed,
                                   "incremental_elapsed": incremental_elapsed}


def measure_ml(bench: Bench) -> None:
    """Training and scoring rows/s as the ml job reports them (read gold, features, fit or
    score, write), beside a plain pyiceberg read of the same gold table and, for scoring,
    scikit-learn's own `score_samples` of the registered forest on the same feature matrix."""
    backlog = bench.settings
    bench.say("ml: train, then score every gold purchase")
    trained = parsing.last_log_event(
        bench.run("ml train", python("-m", "ml", "train"), backlog).stderr, "trained")
    scored = parsing.last_log_event(
        bench.run("ml score", python("-m", "ml", "score"), backlog).stderr, "scored")
    table = iceberg_catalog(backlog).load_table(GOLD_FACT_TABLE)
    started = time.monotonic()
    rows = table.scan(selected_fields=tuple(PURCHASE_COLUMNS)).to_arrow().num_rows
    read_rate = rate(rows, time.monotonic() - started)
    model = registry.load(backlog.models_dir).model
    purchases, _ = load_purchases(iceberg_catalog(backlog))
    inputs = model_inputs(build_features(purchases), model.params.features)
    started = time.monotonic()
    model.forest.score_samples(inputs)
    sklearn_rate = rate(len(inputs), time.monotonic() - started)
    bench.add(Figure("ml training", "rows/s", rate(trained["purchases"], trained["seconds"]),
                     "pyiceberg read of gold", read_rate))
    bench.add(Figure("ml scoring", "rows/s", rate(scored["scored"], scored["seconds"]),
                     "scikit-learn score_samples", sklearn_rate,
                     note="the whole job (read, features, score, explain, write) against the "
                     "forest's own scoring of the same matrix"))
    bench.report.details["ml"] = {"trained": trained, "scored": scored,
                                  "pyiceberg_read_rows_per_second": round(read_rate),
                                  "sklearn_score_samples_rows_per_second": round(sklearn_rate)}


def measure_dashboard(bench: Bench) -> None:
    """Seconds from asking for each dashboard page in headless Chromium to its last element
    rendered, on the backlog's gold and silver with cold caches (a new server), beside a
    pyiceberg scan of gold.fct_purchases, which the first page reads."""
    served = replace_settings(bench.settings, dashboard_port=_free_port())
    bench.say("dashboard: every page in headless Chromium, first render with cold caches")
    bench.run("dashboard up", python("-m", "ops", "dashboard", "up"), served)
    try:
        bench.run("dashboard pages", python("-m", "ops", "dashboard", "screenshot"), served)
    finally:
        bench.run("dashboard down", python("-m", "ops", "dashboard", "down"), served)
    rendered = json.loads((served.reports_dir / "dashboard" / "render.json").read_text())
    started = time.monotonic()
    rows = iceberg_catalog(served).load_table(GOLD_FACT_TABLE).scan().to_arrow().num_rows
    scan = time.monotonic() - started
    for page, figures in rendered.items():
        bench.add(Figure(f"dashboard {page} page first render", "s", figures["seconds_to_render"],
                         "pyiceberg scan of gold.fct_purchases", scan,
                         note=f"{rows} gold rows; pages in order, the first pays the server's start"))
    bench.report.details["dashboard"] = {"pages": rendered, "gold_rows": rows,
                                         "gold_scan_seconds": round(scan, 2)}


def measure_freshness(bench: Bench) -> None:
    """Silver with the processing-time trigger on a topic and catalog of their own; a producer
    at a steady rate; a catalog poller and a plain Kafka consumer note when rows arrive. The
    rows of the first minute at the steady rate (the catch-up after the job's start) are
    reported apart from the steady state after it."""
    size = bench.size
    fresh = bench.topic("bench_freshness", home=bench.settings.home / "freshness")
    ensure_topic(fresh)
    watch = SnapshotWatch(iceberg_catalog(fresh))
    count = int(size.freshness_rate * (size.first_minute_seconds + size.freshness_seconds))
    bench.say(f"freshness: silver every {bench.freshness_interval!r}; {count:,} events at "
              f"{size.freshness_rate:,.0f}/s ({size.first_minute_seconds:g} s of start-up, then "
              f"{size.freshness_seconds:g} s of steady state)")
    silver = _start_timed_silver(bench, "silver (processing-time)", fresh)
    try:
        before = _warm_up(bench, fresh, watch, silver)
        floor = KafkaFloor(fresh)
        floor.start()
        floor.ready.wait(30)
        steady = bench.start("producer (steady)", producer_args(
            count, 8, fresh.topic, rate=size.freshness_rate, **_steady_options(size)), fresh)
        table = _until_visible(watch, before, count, steady, silver,
                               size.first_minute_seconds + size.freshness_seconds + 180)
        floor.stop()
        produced = steady.wait(60)
        bench.report.stage_seconds["producer (steady)"] = produced.seconds
    finally:
        finished = silver.terminate()
        bench.report.stage_seconds["silver (processing-time)"] = finished.seconds
    stamped = watch.latencies(table, before)
    if not stamped:
        raise StageFailed("no row of the steady producer became visible in silver")
    boundary = min(stamp for stamp, _ in stamped) + size.first_minute_seconds
    first_minute, latencies = split_at(stamped, boundary)
    floor_first, floor_steady = split_at(floor.latencies, boundary)
    for q in (50, 95, 99):
        bench.add(Figure(f"freshness p{q}", "s", percentile(latencies, q),
                         "kafka consumer (same topic)", percentile(floor_steady, q),
                         note=f"steady state: rows sent after the first {size.first_minute_seconds:g} s"))
    for q in (50, 95, 99):
        bench.add(Figure(f"freshness first minute p{q}", "s", percentile(first_minute, q),
                         "kafka consumer (same topic)", percentile(floor_first, q),
                         note="rows sent in the first stretch at the steady rate"))
    batches = _batches(fresh, since=0.0)
    steady_batches = [b for b in batches if b[0] >= boundary]
    bench.report.details["freshness"] = {
        "rows_produced": count, "rows_visible": len(stamped),
        "rows_first_minute": len(first_minute), "rows_steady": len(latencies),
        "interval": bench.freshness_interval,
        "max_seconds": round(max(latency for _, latency in stamped), 3),
        "batches": len(batches),
        "steady_batches": len(steady_batches),
        "mean_steady_batch_seconds": _mean([b[1] for b in steady_batches]),
        "mean_steady_batch_rows": _mean([b[2] for b in steady_batches]),
    }


def measure_serving(bench: Bench) -> None:
    """Freshness through the serving view (serving.daily_sales) beside silver's, for the same
    rows: gold is published once over a warm-up (the views created), then silver runs with the
    processing-time trigger under a steady producer while a Spark session queries the view
    again and again. A row is visible in the view with the first answer that counts it."""
    size = bench.size
    served = bench.topic("bench_serving", home=bench.settings.home / "serving")
    ensure_topic(served)
    watch = SnapshotWatch(iceberg_catalog(served))
    count = int(size.freshness_rate * size.freshness_seconds)
    bench.say(f"serving: silver every {bench.freshness_interval!r}, serving.daily_sales read in a "
              f"loop; {count:,} events at {size.freshness_rate:,.0f}/s")
    silver = _start_timed_silver(bench, "silver (serving)", served)
    poller = None
    try:
        before = _warm_up(bench, served, watch, silver)
        bench.run("gold update (serving)", python("-m", "ops", "gold", "update"), served)
        poller = bench.start("serving view reader", python("-m", "bench.serving_poll"), served)
        _wait_for(lambda: bool(_lines(poller.out_path)), poller, timeout=300)
        steady = bench.start("producer (serving)", producer_args(
            count, 9, served.topic, rate=size.freshness_rate, **_steady_options(size)), served)
        table = _until_visible(watch, before, count, steady, silver, size.freshness_seconds + 180)
        steady.wait(60)
        total = sum(rows for _, rows in _snapshot_rows(table))
        _wait_for(lambda: _answers(poller)[-1][1] >= total, poller, timeout=120)
    finally:
        if poller is not None:
            poller.terminate()
        silver.terminate()
    answers = _answers(poller)
    view = SnapshotWatch(watch.catalog, seen_at=first_answers(_snapshot_rows(table), answers))
    served_latencies = [latency for _, latency in view.latencies(table, before)]
    silver_latencies = [latency for _, latency in watch.latencies(table, before)]
    for q in (50, 95, 99):
        bench.add(Figure(f"serving view freshness p{q}", "s", percentile(served_latencies, q),
                         "silver (same rows, catalog read)", percentile(silver_latencies, q),
                         note="produce to counted in serving.daily_sales (batch + speed view)"))
    bench.report.details["serving"] = {
        "rows": len(served_latencies), "view_answers": len(answers),
        "mean_view_query_seconds": _mean([seconds for _, _, seconds in _answer_lines(poller)]),
    }


def _snapshot_rows(table: Table) -> list[tuple[int, int]]:
    return [(s.snapshot_id, int((s.summary or {}).get("added-records", 0)))
            for s in table.metadata.snapshots]


def _answer_lines(poller: Stage) -> list[tuple[float, int, float]]:
    out = []
    for line in _lines(poller.out_path):
        if line.startswith("{"):
            answer = json.loads(line)
            out.append((answer["end"], answer["orders"], answer["seconds"]))
    return out


def _answers(poller: Stage) -> list[tuple[float, int]]:
    return [(end, orders) for end, orders, _ in _answer_lines(poller)] or [(0.0, -1)]


def measure_sustained(bench: Bench) -> None:
    """The highest rate silver keeps up with at the processing-time trigger: after a warm-up at
    the lowest rate, a producer offers each rate of the size's list in turn for a while, on a
    topic and catalog of their own, and the stage stops at the first rate silver's batches take
    longer than the trigger on average or its rows' wait grows (bench.figures.Sustained)."""
    size = bench.size
    interval = interval_seconds(bench.freshness_interval)
    held = bench.topic("bench_sustained", home=bench.settings.home / "sustained")
    ensure_topic(held)
    watch = SnapshotWatch(iceberg_catalog(held))
    bench.say(f"sustained: silver every {bench.freshness_interval!r}; rates "
              f"{', '.join(f'{r:,.0f}' for r in size.sustained_rates)}/s, "
              f"{size.sustained_seconds:g} s each, up to the first it does not keep up with")
    silver = _start_timed_silver(bench, "silver (sustained)", held)
    verdicts: list[Sustained] = []
    try:
        _warm_up(bench, held, watch, silver)
        # then the JIT and the caches, at the lowest rate for the first minute's length: a cold
        # job's batches are several times its warm ones, which is not what a rate is judged on
        watch.poll()
        before, count = set(watch.seen_at), int(size.sustained_rates[0] * size.first_minute_seconds)
        warming = bench.start("producer (sustained warm-up)", producer_args(
            count, 19, held.topic, rate=size.sustained_rates[0], **_steady_options(size)), held)
        _until_visible(watch, before, count, warming, silver, 3 * size.first_minute_seconds + 180)
        for step, offered in enumerate(size.sustained_rates):
            watch.poll()
            before, mark = set(watch.seen_at), time.time()
            count = int(offered * size.sustained_seconds)
            producer = bench.start(f"producer (sustained {offered:,.0f}/s)", producer_args(
                count, 20 + step, held.topic, rate=offered, **_steady_options(size)), held)
            table = _until_visible(watch, before, count, producer, silver,
                                   3 * size.sustained_seconds + 180)
            sent = parsing.last_log_event(producer.wait(60).stderr, "produced")
            batches = _batches(held, since=mark)
            verdict = sustained(rate(int(sent["sent"]), float(sent["seconds"])),
                                [b[1] for b in batches], watch.latencies(table, before), interval)
            verdicts.append(verdict)
            bench.say(f"  {offered:,.0f}/s offered ({verdict.rate:,.0f}/s sent): "
                      f"{verdict.batches} batches of {verdict.mean_batch_seconds:.2f} s on average, "
                      f"median wait {verdict.first_third_latency:.2f} s -> "
                      f"{verdict.last_third_latency:.2f} s: "
                      f"{'kept up' if verdict.kept_up else 'fell behind'}")
            if not verdict.kept_up:
                break
    finally:
        finished = silver.terminate()
        bench.report.stage_seconds["silver (sustained)"] = finished.seconds
    bench.add(Figure("highest rate sustained", "events/s", highest_sustained(verdicts),
                     note=f"trigger {bench.freshness_interval}: batches shorter than it on "
                     "average, the rows' wait not growing"))
    bench.report.details["sustained"] = [v.as_dict() for v in verdicts]


def _start_timed_silver(bench: Bench, name: str, settings: Settings) -> Stage:
    """Silver with the processing-time trigger at the bench's interval."""
    return bench.start(name, python("-m", "spark_jobs.silver", "--trigger", "processing-time",
                                    "--interval", bench.freshness_interval), settings)


def _steady_options(size: Size) -> dict[str, float]:
    # event times as recent as the stream's; no injected anomalies: a shifted hour could put
    # an event in the future (quarantined)
    return {"days": (size.first_minute_seconds + size.freshness_seconds) / 86_400,
            "anomaly_share": 0.0}


def _warm_up(bench: Bench, settings: Settings, watch: SnapshotWatch, silver: Stage) -> set[int]:
    """100 events through a fresh silver job (its tables created, its first batch), so that
    table creation is not counted; the snapshots seen so far."""
    bench.run("producer (warm-up)", producer_args(100, 7, settings.topic,
                                                  **_steady_options(bench.size)), settings)
    _wait_for(lambda: _visible_rows(watch) >= 100, silver, timeout=300)
    return set(watch.seen_at)


def _until_visible(watch: SnapshotWatch, before: set[int], count: int, producer: Stage,
                   silver: Stage, timeout: float) -> Table:
    """Poll the catalog until the producer is done and `count` rows were added after `before`."""
    deadline = time.monotonic() + timeout
    table = None
    while time.monotonic() < deadline:
        table = watch.poll()
        done = producer.process.poll() is not None
        if done and table is not None and watch.rows_seen(table, before) >= count:
            return table
        if silver.process.poll() is not None:
            raise StageFailed(f"silver stopped during the run; see {silver.err_path}")
        time.sleep(POLL_SECONDS)
    if table is None:
        raise StageFailed("silver never appeared in the catalog")
    raise StageFailed(f"{count:,} rows not visible in silver within {timeout:.0f}s "
                      f"({watch.rows_seen(table, before):,} were)")


def _batches(settings: Settings, since: float) -> list[tuple[float, float, int]]:
    """(start, seconds, rows) of silver's batches with rows that started at `since` or later."""
    out = []
    for m in _metrics(settings, "silver"):
        if m.get("input_rows", 0) > 0 and m.get("timestamp"):
            started = datetime.fromisoformat(m["timestamp"]).timestamp()
            if started >= since:
                out.append((started, float(m["batch_seconds"]), int(m["input_rows"])))
    return out


def _mean(values: Sequence[float]) -> float | None:
    return round(sum(values) / len(values), 3) if values else None


def measure_orchestration(bench: Bench) -> None:
    """Seconds from a silver commit to gold published by the purchases_gold DAG on a real Airflow
    (its watcher, scheduler, write-audit-publish task), round after round of new events; the
    baseline is the same write-audit-publish run by hand (`lakehouse gold update`)."""
    size = bench.size
    orch = replace_settings(bench.topic("bench_orchestration",
                                        home=bench.settings.home / "orchestration"),
                            airflow_port=_free_port(), gold_poll_seconds=2.0)
    ensure_topic(orch)
    per_round = size.orchestration_events
    shares = {"malformed_share": 0.01, "duplicate_share": 0.01, "anomaly_share": 0.0, "days": 1}
    bench.say(f"orchestration: Airflow's purchases_gold after each of {size.orchestration_rounds} "
              f"silver commits of {per_round:,} events")
    bench.run("producer (orchestration)", producer_args(per_round, 11, orch.topic, **shares), orch)
    bench.run("silver (orchestration)", python("-m", "spark_jobs.silver"), orch)
    latencies: list[float] = []
    bench.run("airflow up", python("-m", "ops", "airflow", "up"), orch)
    try:
        _wait_gold_equals_silver(orch, timeout=600)  # the first run, on silver's head
        for round_number in range(1, size.orchestration_rounds + 1):
            # each round's events from a seed of its own: a longer run of one seed would spread
            # the same events over other times (the producer refuses such a resume)
            bench.run("producer (orchestration)", producer_args(
                per_round, 11 + round_number, orch.topic, **shares), orch)
            bench.run("silver (orchestration)", python("-m", "spark_jobs.silver"), orch)
            committed = _silver_commit_seconds(orch)
            _wait_gold_equals_silver(orch, timeout=600)
            latencies.append(time.time() - committed)
            bench.say(f"  round {round_number}: gold published {latencies[-1]:.1f}s after the commit")
    finally:
        bench.run("airflow down", python("-m", "ops", "airflow", "down"), orch)
    bench.run("producer (orchestration)", producer_args(
        per_round, 12 + size.orchestration_rounds, orch.topic, **shares), orch)
    bench.run("silver (orchestration)", python("-m", "spark_jobs.silver"), orch)
    by_hand = bench.run("gold update by hand", python("-m", "ops", "gold", "update"), orch).seconds
    for q in (50, 95):
        bench.add(Figure(f"silver commit to gold published p{q}", "s", percentile(latencies, q),
                         "lakehouse gold update by hand", by_hand,
                         note=f"{len(latencies)} rounds of {per_round} events"))
    bench.report.details["orchestration"] = {"latencies": [round(x, 2) for x in latencies],
                                             "gold_update_by_hand_seconds": round(by_hand, 2)}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _silver_commit_seconds(settings: Settings) -> float:
    snapshot = iceberg_catalog(settings).load_table(SILVER_TABLE).current_snapshot()
    if snapshot is None:
        raise StageFailed("silver has no snapshot after its drain")
    return snapshot.timestamp_ms / 1000


def _event_ids(settings: Settings, table: str) -> set[str]:
    try:
        loaded = iceberg_catalog(settings).load_table(table)
    except Exception:  # noqa: BLE001 - gold appears with the first publish
        return set()
    return set(loaded.scan(selected_fields=("event_id",)).to_arrow()["event_id"].to_pylist())


def _wait_gold_equals_silver(settings: Settings, timeout: float) -> None:
    silver = _event_ids(settings, SILVER_TABLE)
    deadline = time.monotonic() + timeout
    while _event_ids(settings, GOLD_FACT_TABLE) != silver:
        if time.monotonic() > deadline:
            raise StageFailed(f"gold did not reach silver's {len(silver)} rows within {timeout:.0f}s; "
                              f"see {settings.airflow_home / 'logs'}")
        time.sleep(0.5)


def _visible_rows(watch: SnapshotWatch) -> int:
    table = watch.poll()
    return 0 if table is None else watch.rows_seen(table, set())


def _wait_for(condition: Callable[[], bool], stage: Stage, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if stage.process.poll() is not None:
            raise StageFailed(f"{stage.name} exited early; see {stage.err_path}")
        if time.monotonic() > deadline:
            raise StageFailed(f"{stage.name}: nothing visible after {timeout:.0f}s")
        time.sleep(POLL_SECONDS)


def stack_memory(bench: Bench) -> None:
    bench.report.peak_rss_mib = bench.sampler.peaks_mib()
    if "silver" in bench.report.peak_rss_mib:  # the drain's stage is named "silver"
        bench.add(Figure("silver drain peak resident memory", "MiB",
                         bench.report.peak_rss_mib["silver"],
                         note="the Python driver and its JVM, sampled every 0.2 s"))
    bench.add(Figure("stack peak resident memory", "MiB", bench.sampler.stack_peak / MIB,
                     note="broker + every stage running at one moment, sampled every 0.2 s"))


STAGES: tuple[Callable[[Bench], None], ...] = (
    measure_producer, measure_drains, measure_streams, measure_dbt, measure_ml, measure_dashboard,
    measure_freshness, measure_serving, measure_sustained, measure_orchestration,
)


def free_bench_settings(home: Path) -> Settings:
    port = local_kafka.free_port_pair()
    return Settings(home=home, kafka_bootstrap=f"127.0.0.1:{port}", topic="bench_backlog")


def run_all(bench: Bench, only: Sequence[str] = ()) -> Report:
    start_broker(bench)
    try:
        chosen = only or bench.size.stages
        for stage in STAGES:
            if stage.__name__.removeprefix("measure_") not in chosen:
                continue
            started = time.monotonic()
            stage(bench)
            bench.say(f"  ({time.monotonic() - started:.1f}s)")
    finally:
        stop_broker(bench)
        stack_memory(bench)
    return bench.report

