"""`lakehouse`: run the local stack and the pipeline's stages from one command."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from lakehouse.settings import load_settings
from ops import local_kafka
from producer.cli import AnomalyShare, DuplicateShare, LateShare, MalformedShare, Seed

if TYPE_CHECKING:
    from rich.console import Console

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(1)


@app.command()
def up() -> None:
    """Start the local Kafka broker (KRaft, 127.0.0.1) unless it runs; wait until it answers."""
    settings = load_settings()
    try:
        pid = local_kafka.start(settings)
    except local_kafka.BrokerError as exc:
        raise _fail(str(exc)) from exc
    typer.echo(f"kafka broker running: pid {pid}, bootstrap {settings.kafka_bootstrap}")


@app.command()
def down() -> None:
    """Stop what the local stack started, by pid: the dashboard, live mode, Airflow, then the broker."""
    from ops import airflow_stack, dashboard_server, live

    settings = load_settings()
    if dashboard_server.stop(settings):
        typer.echo("dashboard stopped")
    if live.stop(settings):
        typer.echo("live mode stopped")
    if stopped_airflow := airflow_stack.stop(settings):
        typer.echo(f"airflow stopped: {', '.join(stopped_airflow)}")
    stopped = local_kafka.stop(settings)
    typer.echo("kafka broker stopped" if stopped else "kafka broker was not running")


@app.command()
def status() -> None:
    """Say whether the local broker runs (exit 3 if not), and live mode, Airflow and the dashboard."""
    from ops import airflow_stack, dashboard_server, live

    settings = load_settings()
    dashboard = dashboard_server.status(settings)
    typer.echo(f"dashboard: {'running at ' + dashboard.url if dashboard.pid else 'not running'}")
    supervisor = live.status(settings).supervisor_pid
    typer.echo(f"live mode: {'running, supervisor pid ' + str(supervisor) if supervisor else 'not running'}")
    airflow = airflow_stack.status(settings)
    running = [name for name, pid in airflow.pids.items() if pid]
    typer.echo(f"airflow: {'running at ' + airflow.url if airflow.running else 'not running'}"
               + (f" (only {', '.join(running)})" if running and not airflow.running else ""))
    pid = local_kafka.status(settings)
    if pid is None:
        typer.echo("kafka broker: not running")
        raise typer.Exit(3)
    typer.echo(f"kafka broker: running, pid {pid}, bootstrap {settings.kafka_bootstrap}")


live_app = typer.Typer(no_args_is_help=True, help="Live mode: producer, bronze and silver run until "
                       "stopped, supervised (ops/live.py).")
app.add_typer(live_app, name="live")


@live_app.command("up")
def live_up() -> None:
    """Start the broker (unless one answers), then the supervisor of the producer and the
    bronze and silver streams (processing-time triggers). Idempotent."""
    from ops import live

    settings = load_settings()
    try:
        state = live.start(settings)
    except Exception as exc:
        raise _fail(f"live mode did not start: {exc}") from exc
    typer.echo(f"live mode running: supervisor pid {state.supervisor_pid}; producer at "
               f"{settings.live_rate:g} messages/s to {settings.topic}, streams every "
               f"{settings.live_trigger_interval}")
    typer.echo(f"logs: {settings.live_dir}/{{supervisor,producer,bronze,silver}}.log; "
               "`lakehouse live status`; `make down` stops everything")


@live_app.command("status")
def live_status() -> None:
    """Say whether live mode runs, and each supervised process's pid, starts and last exit code."""
    from ops import live

    state = live.status(load_settings())
    if state.supervisor_pid is None:
        typer.echo("live mode: not running")
        raise typer.Exit(3)
    typer.echo(f"live mode: supervisor pid {state.supervisor_pid}")
    for name, child in state.children.items():
        typer.echo(f"  {name}: pid {child['pid']}, started {child['starts']} time(s), "
                   f"last exit code {child['last_exit_code']}, log {child['log']}")


@live_app.command("down")
def live_down() -> None:
    """Stop the supervisor and the processes it runs."""
    from ops import live

    typer.echo("live mode stopped" if live.stop(load_settings()) else "live mode was not running")


airflow_app = typer.Typer(no_args_is_help=True, help="Apache Airflow on 127.0.0.1 (ops/airflow_stack.py).")
app.add_typer(airflow_app, name="airflow")


Foreground = typer.Option(False, "--foreground", help="Stay in the foreground until SIGTERM or "
                          "SIGINT, then stop; exit 1 if a process dies (a container's command).")


@airflow_app.command("up")
def airflow_up(foreground: bool = Foreground) -> None:
    """Start Airflow's api-server, scheduler, dag-processor and triggerer unless they run; wait
    until healthy; print the URL and where the generated login is."""
    from ops import airflow_stack, daemons

    settings = load_settings()
    try:
        state = airflow_stack.start(settings)
    except airflow_stack.AirflowError as exc:
        raise _fail(str(exc)) from exc
    typer.echo(f"airflow running: {state.url} (pids {', '.join(map(str, state.pids.values()))})")
    typer.echo(f"login: user admin, password in {state.password_file}")
    typer.echo(f"DAGs: {airflow_stack.DAGS_DIR}; logs: {settings.airflow_home / 'run'}")
    if foreground:
        raise typer.Exit(daemons.hold("airflow", lambda: airflow_stack.status(settings).running,
                                      lambda: airflow_stack.stop(settings)))


@airflow_app.command("down")
def airflow_down() -> None:
    """Stop the Airflow components `airflow up` started."""
    from ops import airflow_stack

    stopped = airflow_stack.stop(load_settings())
    typer.echo(f"airflow stopped: {', '.join(stopped)}" if stopped else "airflow was not running")


@airflow_app.command("status")
def airflow_status() -> None:
    """Say which Airflow components run."""
    from ops import airflow_stack

    state = airflow_stack.status(load_settings())
    for name, pid in state.pids.items():
        typer.echo(f"airflow {name}: {'running, pid ' + str(pid) if pid else 'not running'}")
    if not state.running:
        raise typer.Exit(3)
    typer.echo(f"url: {state.url}")


@airflow_app.command("screenshot")
def airflow_screenshot(
    dag_id: str = typer.Argument("purchases_gold", help="The DAG whose graph to capture."),
    out: Path = typer.Option(Path("docs/images/purchases_gold_graph.png"), help="The PNG to write."),
    run_id: str = typer.Option(None, help="The run to show (default: the latest)."),
) -> None:
    """Capture a DAG's graph in Airflow's UI with headless Chromium (Debian's `chromium`),
    signed in as the generated admin."""
    from ops.browser import airflow_dag_screenshot

    try:
        path = airflow_dag_screenshot(load_settings(), dag_id, out, run_id)
    except Exception as exc:
        raise _fail(f"screenshot failed: {exc}") from exc
    typer.echo(f"screenshot: {path}")


@airflow_app.command("run", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def airflow_run(ctx: typer.Context) -> None:
    """Run an `airflow` command in the stack's environment, e.g. `lakehouse airflow run dags list`."""
    import subprocess

    from ops import airflow_stack

    settings = load_settings()
    raise typer.Exit(subprocess.call([str(airflow_stack.airflow_bin()), *ctx.args],
                                     env=airflow_stack.airflow_env(settings)))


dashboard_app = typer.Typer(no_args_is_help=True, help="The Streamlit dashboard on 127.0.0.1 "
                            "(dashboard/, ops/dashboard_server.py).")
app.add_typer(dashboard_app, name="dashboard")


@dashboard_app.command("up")
def dashboard_up(foreground: bool = Foreground) -> None:
    """Serve the dashboard unless it runs; wait until it answers; print its URL. Idempotent."""
    from ops import daemons, dashboard_server

    settings = load_settings()
    try:
        state = dashboard_server.start(settings)
    except dashboard_server.DashboardError as exc:
        raise _fail(str(exc)) from exc
    typer.echo(f"dashboard running: {state.url} (pid {state.pid}, log {state.log_path})")
    if foreground:
        raise typer.Exit(daemons.hold("dashboard", lambda: dashboard_server.status(settings).pid is not None,
                                      lambda: dashboard_server.stop(settings)))


@dashboard_app.command("down")
def dashboard_down() -> None:
    """Stop the dashboard `dashboard up` started."""
    from ops import dashboard_server

    stopped = dashboard_server.stop(load_settings())
    typer.echo("dashboard stopped" if stopped else "dashboard was not running")


@dashboard_app.command("status")
def dashboard_status() -> None:
    """Say whether the dashboard runs (exit 3 if not)."""
    from ops import dashboard_server

    state = dashboard_server.status(load_settings())
    if state.pid is None:
        typer.echo("dashboard: not running")
        raise typer.Exit(3)
    typer.echo(f"dashboard: running at {state.url}, pid {state.pid}")


@dashboard_app.command("screenshot")
def dashboard_screenshot(
    out: Path = typer.Option(None, help="The folder for the PNGs and render.json "
                             "(default: $LAKEHOUSE_HOME/reports/dashboard)."),
) -> None:
    """Load every page of the running dashboard in headless Chromium (Debian's `chromium`): a
    full-page PNG of each, and each page's seconds to render in render.json."""
    import json

    from ops import dashboard_server
    from ops.browser import dashboard_pages

    settings = load_settings()
    if dashboard_server.status(settings).pid is None:
        raise _fail("the dashboard is not running: start it with `make dashboard`")
    folder = out or settings.reports_dir / "dashboard"
    try:
        captures = dashboard_pages(dashboard_server.url(settings), folder)
    except Exception as exc:
        raise _fail(f"screenshot failed: {exc}") from exc
    report = {c.page: {"seconds_to_render": c.seconds, "exceptions": c.exceptions,
                       "screenshot": str(c.screenshot)} for c in captures}
    (folder / "render.json").write_text(json.dumps(report, indent=2))
    for capture in captures:
        typer.echo(f"{capture.page}: rendered in {capture.seconds:.1f} s, {capture.screenshot}"
                   + (f", {len(capture.exceptions)} exception(s)" if capture.exceptions else ""))
    if any(c.exceptions for c in captures):
        raise typer.Exit(1)


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def dbt(ctx: typer.Context) -> None:
    """Run dbt on the profile's target (local Spark, or Athena with LAKEHOUSE_PROFILE=aws),
    e.g. `lakehouse dbt build` or `lakehouse dbt docs generate`."""
    from ops.dbt_runner import run_dbt

    result = run_dbt(load_settings(), ctx.args or ["build"])
    if not result.success:
        raise _fail(f"dbt {' '.join(ctx.args or ['build'])} failed")


@app.command("dbt-env")
def dbt_env() -> None:
    """Print the variables dbt_project/profiles.yml reads, as shell exports, so plain `dbt`
    commands run as `lakehouse dbt` does: `eval "$(lakehouse dbt-env)"`."""
    from ops.dbt_runner import dbt_env as variables
    from ops.dbt_runner import shell_exports

    try:
        typer.echo(shell_exports(variables(load_settings())), nl=False)
    except FileNotFoundError as exc:
        raise _fail(str(exc)) from exc


gold_app = typer.Typer(no_args_is_help=True, help="Gold by write-audit-publish: build and test on an "
                         "Iceberg branch, then publish (ops/gold.py).")
app.add_typer(gold_app, name="gold")


@gold_app.command("audit")
def gold_audit(branch: str = typer.Option("audit", help="The Iceberg branch the build writes.")) -> None:
    """Build every gold model and run every dbt test on the audit branch; readers still see
    the published gold. A failure drops the branch and exits 1. Prints a JSON line last."""
    from ops import gold

    try:
        result = gold.audit(load_settings(), branch)
    except (gold.AuditFailed, ValueError) as exc:
        raise _fail(f"gold audit failed, gold unchanged: {exc}") from exc
    typer.echo(f"audited on branch {branch}: {result.new_fact_rows} new fct_purchases rows "
               f"(silver snapshot {result.silver_snapshot_id}, {result.seconds}s)")
    typer.echo(gold.as_json(result))


@gold_app.command("update")
def gold_update(branch: str = typer.Option("audit", help="The Iceberg branch the build writes.")) -> None:
    """Audit, then publish when every test passed (what the purchases_gold DAG runs). A failed
    audit leaves gold unchanged and exits 1. Prints a JSON line last."""
    from ops import gold

    try:
        audited, published = gold.update(load_settings(), branch)
    except (gold.AuditFailed, ValueError) as exc:
        raise _fail(f"gold audit failed, gold unchanged: {exc}") from exc
    typer.echo(f"published {len(published.published)} tables: fct_purchases "
               f"{published.fact_rows_before} -> {published.fact_rows_after} rows (silver snapshot "
               f"{audited.silver_snapshot_id}, {audited.seconds + published.seconds:.1f}s)")
    typer.echo(gold.as_json(audited, published))


@gold_app.command("publish")
def gold_publish(branch: str = typer.Option("audit", help="The audited branch to publish.")) -> None:
    """Fast-forward each gold table to its audited branch (fct_purchases first) and drop the
    branch. Prints a JSON line last."""
    from ops import gold

    result = gold.publish(load_settings(), branch)
    typer.echo(f"published {len(result.published)} tables: fct_purchases {result.fact_rows_before} "
               f"-> {result.fact_rows_after} rows ({result.seconds}s)")
    typer.echo(gold.as_json(result))


# BashOperator's exit code for "skip this task": what `drain` says when live mode drains already.
SKIPPED_EXIT_CODE = 99


@app.command()
def drain(stream: list[str] = typer.Option(
        None, help="Stream (a contract in contracts/), repeatable; default: LAKEHOUSE_STREAM.")) -> None:
    """Drain the streams' topics into bronze, then silver (available-now triggers, one Spark
    session), unless live mode's streams run: then there is nothing to do and it exits 99."""
    from ops import live
    from spark_jobs import bronze, silver
    from spark_jobs.streaming import Trigger, chosen_streams, stop_spark

    settings = load_settings()
    if live.status(settings).supervisor_pid is not None:
        typer.echo("live mode's streams are running: nothing to drain")
        raise typer.Exit(SKIPPED_EXIT_CODE)
    try:
        streams = chosen_streams(stream)
        bronze.start(settings, Trigger.available_now, "", None, streams)
        silver.start(settings, Trigger.available_now, "", None, streams)
    except Exception as exc:
        raise _fail(f"drain failed: {exc}") from exc
    finally:
        stop_spark()
    typer.echo(f"drained {settings.topic} into bronze and silver")


@app.command()
def query(
    names: list[str] = typer.Argument(None, help="Analyses to run: dbt_project/analyses/<name>.sql."),
    run_all: bool = typer.Option(False, "--all", help="Run every analysis."),
    limit: int = typer.Option(20, help="Rows to print per analysis (0: all)."),
    serve: bool = typer.Option(False, help="Write each result whole as JSON under "
                               "$LAKEHOUSE_HOME/serving/<name>.json instead of printing it."),
) -> None:
    """Compile analyses for the local target, run them with Spark and print each as a table."""
    from ops.analyses import AnalysisError, analysis_names, print_result, run_analyses, serve_result

    chosen = analysis_names() if run_all else list(names or [])
    if not chosen:
        raise _fail(f"name an analysis or pass --all: {', '.join(analysis_names())}")
    settings = load_settings()
    try:
        results = run_analyses(settings, chosen)
    except AnalysisError as exc:
        raise _fail(str(exc)) from exc
    for result in results:
        if serve:
            path = serve_result(result, settings.serving_dir)
            typer.echo(f"served {result.name}: {len(result.rows)} rows -> {path}")
        else:
            print_result(result, limit)


@app.command()
def demo(
    events: int = typer.Option(10_000, help="Messages each stream's topic should hold."),
    seed: Seed = 42,
    anomaly_share: AnomalyShare = 0.01,
    malformed_share: MalformedShare = 0.01,
    duplicate_share: DuplicateShare = 0.01,
    late_share: LateShare = 0.01,
    stream: list[str] = typer.Option(
        None, help="Stream to run (a contract in contracts/), repeatable; default: every stream."),
    progress: bool = typer.Option(True, help="Show a progress bar while producing."),
) -> None:
    """Start the stack; produce every stream's events, run bronze and silver for each, dbt build
    and ML on purchases; print a summary with each stream's books."""
    from rich.table import Table

    from ops.demo import run_demo
    from producer.events import GeneratorOptions
    from spark_jobs.streaming import chosen_streams

    try:
        options = GeneratorOptions(count=events, seed=seed, anomaly_share=anomaly_share,
                                   malformed_share=malformed_share, duplicate_share=duplicate_share,
                                   late_share=late_share)
        streams = chosen_streams(stream)
        summary, path = run_demo(load_settings(), options, show_progress=progress, streams=streams)
    except Exception as exc:
        raise _fail(f"demo failed: {exc}") from exc
    console = _print_books(summary["streams"])
    table = Table(title="purchases lakehouse: demo summary")
    table.add_column("figure")
    table.add_column("value", justify="right")
    for key, value in summary.items():
        if key == "stage_seconds":
            for stage, seconds in value.items():
                table.add_row(f"seconds: {stage}", f"{seconds:.2f}")
        elif key != "streams":
            table.add_row(key, str(value))
    console.print(table)
    typer.echo(f"summary JSON: {path}")
    _fail_unless_balanced(summary["streams"])


def _print_books(streams: dict[str, dict]) -> Console:
    """One line per stream; "ok": sent = bronze = silver + quarantined + duplicates."""
    from rich import box
    from rich.console import Console
    from rich.table import Table

    console = Console(width=max(Console().width, 100))  # the books table is ~90 columns wide
    books = Table(title="books per stream", box=box.SIMPLE_HEAD)
    columns = {"events_produced": "sent", "bronze_records": "bronze", "silver_rows": "silver",
               "quarantined_rows": "quarantined", "duplicates_dropped": "duplicates",
               "books_balance": "ok"}
    books.add_column("stream", no_wrap=True)
    for header in columns.values():
        books.add_column(header, justify="right", min_width=len(header))
    for name, figures in streams.items():
        books.add_row(name, *("yes" if figures[column] is True else "NO" if figures[column] is False
                              else str(figures[column]) for column in columns))
    console.print(books)
    return console


def _fail_unless_balanced(streams: dict[str, dict]) -> None:
    unbalanced = [name for name, figures in streams.items() if not figures["books_balance"]]
    if unbalanced:
        raise _fail(f"the books of {', '.join(unbalanced)} do not balance: "
                    "sent = bronze = silver + quarantined + duplicates fails")


@app.command("books")
def books_command(
    stream: list[str] = typer.Option(
        None, help="Stream (a contract in contracts/), repeatable; default: every stream."),
) -> None:
    """Read each stream's books back from its topic and tables, print them, and end with one
    JSON line of them; exit 1 when one does not balance. Runs no job, writes nothing."""
    import json

    from lakehouse.contract import stream_names
    from lakehouse.spark import spark_session
    from ops.demo import read_books
    from spark_jobs.streaming import chosen_streams

    settings = load_settings()
    try:
        streams = chosen_streams(stream) or list(stream_names())
        spark = spark_session(settings, "books")
        books = [read_books(spark, settings.for_stream(name)) for name in streams]
    except Exception as exc:
        raise _fail(f"books failed: {exc}") from exc
    figures = {b.stream: b.figures() for b in books}
    _print_books(figures)
    typer.echo(json.dumps({"books_balance": all(b.balanced for b in books), "streams": figures}))
    _fail_unless_balanced(figures)


class ReportSource(StrEnum):
    generated = "generated"
    gold = "gold"


@app.command("ml-report")
def ml_report(
    source: ReportSource = typer.Option(
        ReportSource.generated,
        help="generated: purchases straight from the producer's generator (contract-valid, "
        "deduplicated, like gold; no Kafka, Spark or Iceberg), the same figures on any machine. "
        "gold: the local gold.fct_purchases and ground-truth file `make demo` leaves, graded with "
        "the current registered model (or one fitted in memory when none is).",
    ),
    seed: int = typer.Option(42, help="Generated data: seed."),
    anomaly_share: float = typer.Option(0.01, help="Generated data: share of anomalous purchases."),
    count: int = typer.Option(10_000, help="Generated data: messages per run."),
    sweep: bool = typer.Option(True, help="Also grade the bar sweep: 3 seeds x shares 0.5%, 1%, 2%."),
    progress: bool = typer.Option(True, help="Show a progress bar during the sweep."),
    out: Path | None = typer.Option(None, help="Output folder (default: <reports dir>/ml)."),
) -> None:
    """Grade the anomaly detector: metrics JSON and PNG plots, each path printed, the JSON last.

    Plots: scores and threshold, precision-recall against the baseline (amount > p99), recall per pattern.
    """
    from rich.console import Console

    from ops import ml_report as reports
    from ops.grading import BAR_SEEDS, BAR_SHARES, evaluation_options

    settings = load_settings()
    try:
        result = (reports.gold_report(settings) if source == ReportSource.gold else
                  reports.generated_report(evaluation_options(seed, anomaly_share, count)))
        if sweep:
            result.sweep = reports.run_sweep(BAR_SEEDS, BAR_SHARES, count, show_progress=progress)
    except Exception as exc:
        raise _fail(f"ml-report failed: {exc}") from exc
    plots, path = reports.write_report(result, out or settings.reports_dir / "ml")
    console = Console()
    console.print(reports.figures_table(result))
    if result.sweep:
        console.print(reports.sweep_table(result.sweep))
    for plot in plots:
        typer.echo(f"plot: {plot}")
    typer.echo(f"metrics JSON: {path}")
