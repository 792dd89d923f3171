"""python -m ml: anomaly detection over gold purchases (Isolation Forest). Without a command it
trains a model if none is registered, then scores new purchases (what the demo runs)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import typer

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


@app.command(hidden=True, context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def report() -> None:
    """Moved to `lakehouse ml-report`."""
    typer.echo("`python -m ml report` is now `lakehouse ml-report` (or `make ml-report`): grading the "
               "detector on generated events combines the producer and ml, so it is an operation",
               err=True)
    raise typer.Exit(2)


if __name__ == "__main__":
    app(prog_name="python -m ml")
