"""python -m ml: anomaly detection over gold purchases (Isolation Forest). Without a command it
trains a model if none is registered, then scores new purchases (what the demo runs)."""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import TypeVar

import typer
from rich.console import Console

from lakehouse.settings import load_settings

app = typer.Typer(add_completion=False, help="Anomaly detection over gold purchases (Isolation Forest). "
                  "Without a command: train if no model is registered, then score new purchases.")
T = TypeVar("T")


def _or_fail(step: str, action: Callable[[], T]) -> T:
    try:
        return action()
    except Exception as exc:
        typer.echo(f"ml {step} failed: {exc}", err=True)
        raise typer.Exit(1) from exc


@app.callback(invoke_without_command=True)
def default(ctx: typer.Context) -> None:
    """Train if no model is registered yet, then score new purchases."""
    if ctx.invoked_subcommand is not None:
        return
    from ml.anomalies import run

    summary = _or_fail("run", lambda: run(load_settings()))
    trained = "trained, then " if summary.trained else ""
    typer.echo(f"{trained}scored {summary.scored} of {summary.purchases} purchases (not scored "
               f"before), flagged {summary.flagged}, model {summary.model_version} ({summary.seconds}s)")


@app.command()
def train(
    flag_share: float = typer.Option(0.01, help="Share of the training purchases the threshold flags."),
) -> None:
    """Fit a model on gold.fct_purchases (no labels) and register it as the current model."""
    from ml.anomalies import train as train_model
    from ml.model import ModelParams

    summary = _or_fail("train", lambda: train_model(load_settings(), ModelParams(flag_share=flag_share)))
    bar = {None: "no ground truth to grade it", True: "meets the bar", False: "MISSES the bar"}
    typer.echo(f"model {summary.model_version}: {summary.purchases} purchases, snapshot "
               f"{summary.snapshot_id}, {bar[summary.meets_bar]} ({summary.seconds}s)")


@app.command()
def score(
    rescore: bool = typer.Option(False, help="Score every purchase again, replacing the table."),
) -> None:
    """Score the purchases gold.purchase_anomalies does not hold yet, with the current model."""
    from ml.anomalies import score as score_new

    summary = _or_fail("score", lambda: score_new(load_settings(), rescore=rescore))
    which = "again" if rescore else "not scored before"
    typer.echo(f"scored {summary.scored} of {summary.purchases} purchases ({which}), flagged "
               f"{summary.flagged}, model {summary.model_version} ({summary.seconds}s)")


class Source(StrEnum):
    generated = "generated"
    gold = "gold"


@app.command()
def report(
    source: Source = typer.Option(
        Source.generated,
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
    """Grade the detector: metrics JSON and PNG plots, each path printed, the JSON last.

    Plots: scores and threshold, precision-recall against the baseline (amount > p99), recall per pattern.
    """
    from ml import report as reports
    from ml.evaluation import BAR_SEEDS, BAR_SHARES, evaluation_options

    settings = load_settings()
    result = _or_fail("report", lambda: reports.gold_report(settings) if source == Source.gold else
                      reports.generated_report(evaluation_options(seed, anomaly_share, count)))
    if sweep:
        result.sweep = _or_fail("report", lambda: reports.run_sweep(
            BAR_SEEDS, BAR_SHARES, count, show_progress=progress))
    plots, path = reports.write_report(result, out or settings.reports_dir / "ml")
    console = Console()
    console.print(reports.figures_table(result))
    if result.sweep:
        console.print(reports.sweep_table(result.sweep))
    for plot in plots:
        typer.echo(f"plot: {plot}")
    typer.echo(f"metrics JSON: {path}")


if __name__ == "__main__":
    app(prog_name="python -m ml")
