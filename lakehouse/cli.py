"""`lakehouse`: run the local stack and the pipeline's stages from one command."""

from __future__ import annotations

import typer

from lakehouse import local_kafka
from lakehouse.settings import load_settings
from producer.cli import AnomalyShare, DuplicateShare, MalformedShare, Seed

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
    """Stop the broker `up` started (by its pid)."""
    stopped = local_kafka.stop(load_settings())
    typer.echo("kafka broker stopped" if stopped else "kafka broker was not running")


@app.command()
def status() -> None:
    """Say whether the local broker runs."""
    settings = load_settings()
    pid = local_kafka.status(settings)
    if pid is None:
        typer.echo("kafka broker: not running")
        raise typer.Exit(3)
    typer.echo(f"kafka broker: running, pid {pid}, bootstrap {settings.kafka_bootstrap}")


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def dbt(ctx: typer.Context) -> None:
    """Run dbt on the profile's target (local Spark, or Athena with LAKEHOUSE_PROFILE=aws),
    e.g. `lakehouse dbt build` or `lakehouse dbt docs generate`."""
    from lakehouse.dbt_runner import run_dbt

    result = run_dbt(load_settings(), ctx.args or ["build"])
    if not result.success:
        raise _fail(f"dbt {' '.join(ctx.args or ['build'])} failed")


@app.command()
def query(
    names: list[str] = typer.Argument(None, help="Analyses to run: dbt_project/analyses/<name>.sql."),
    run_all: bool = typer.Option(False, "--all", help="Run every analysis."),
    limit: int = typer.Option(20, help="Rows to print per analysis (0: all)."),
) -> None:
    """Compile analyses for the local target, run them with Spark and print each as a table."""
    from lakehouse.analyses import AnalysisError, analysis_names, print_result, run_analyses

    chosen = analysis_names() if run_all else list(names or [])
    if not chosen:
        raise _fail(f"name an analysis or pass --all: {', '.join(analysis_names())}")
    try:
        results = run_analyses(load_settings(), chosen)
    except AnalysisError as exc:
        raise _fail(str(exc)) from exc
    for result in results:
        print_result(result, limit)


@app.command()
def demo(
    events: int = typer.Option(10_000, help="Messages the topic should hold."),
    seed: Seed = 42,
    anomaly_share: AnomalyShare = 0.01,
    malformed_share: MalformedShare = 0.01,
    duplicate_share: DuplicateShare = 0.01,
    progress: bool = typer.Option(True, help="Show a progress bar while producing."),
) -> None:
    """Start the stack, produce events, run bronze, silver, dbt build and ML; print a summary."""
    from rich.console import Console
    from rich.table import Table

    from lakehouse.demo import run_demo
    from producer.events import GeneratorOptions

    try:
        options = GeneratorOptions(count=events, seed=seed, anomaly_share=anomaly_share,
                                   malformed_share=malformed_share, duplicate_share=duplicate_share)
        summary, path = run_demo(load_settings(), options, show_progress=progress)
    except Exception as exc:
        raise _fail(f"demo failed: {exc}") from exc
    table = Table(title="purchases lakehouse: demo summary")
    table.add_column("figure")
    table.add_column("value", justify="right")
    for key, value in summary.items():
        if key == "stage_seconds":
            for stage, seconds in value.items():
                table.add_row(f"seconds: {stage}", f"{seconds:.2f}")
        else:
            table.add_row(key, str(value))
    Console().print(table)
    typer.echo(f"summary JSON: {path}")
    if not summary["books_balance"]:
        raise _fail("the books do not balance: bronze != silver + quarantined + duplicates")
