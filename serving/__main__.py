"""python -m serving: the serving layer's alerts."""

from __future__ import annotations

import json
from dataclasses import asdict

import typer

from lakehouse.settings import load_settings

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="The serving layer: alert rules over the serving views, into serving.alerts.")


@app.command()
def alerts() -> None:
    """Run every alert rule once: raise new alerts, keep open ones, resolve cleared ones.
    The last line is the run's summary as JSON."""
    from serving.job import run_alerts

    try:
        run = run_alerts(load_settings())
    except Exception as exc:
        typer.echo(f"serving alerts failed: {exc}", err=True)
        raise typer.Exit(1) from exc
    for alert in run.raised:
        typer.echo(f"raised   {alert['rule']}: {alert['subject']} ({alert['value']:g})")
    for alert in run.resolved:
        typer.echo(f"resolved {alert['rule']}: {alert['subject']}")
    for rule, why in run.skipped.items():
        typer.echo(f"skipped  {rule}: {why}")
    typer.echo(f"{len(run.ran)} rules ran, {len(run.raised)} raised, {run.still_open} still open, "
               f"{len(run.resolved)} resolved; {run.open_alerts} open ({run.seconds}s)")
    typer.echo(json.dumps(asdict(run), default=str))


@app.command()
def rules() -> None:
    """List every alert rule: name, threshold, window and what it watches."""
    from serving.rules import rules as all_rules

    for rule in all_rules(load_settings().alert_freshness_limit_seconds):
        typer.echo(f"{rule.name}: above {rule.threshold:g} over {rule.window}. {rule.description}")


if __name__ == "__main__":
    app()
