"""python -m ml: fit the Isolation Forest on gold purchases and write gold.purchase_anomalies."""

import typer

from lakehouse.settings import Settings
from ml.anomalies import run


def main() -> None:
    """Fit the Isolation Forest on gold.fct_purchases and (re)write gold.purchase_anomalies."""
    try:
        summary = run(Settings())
    except Exception as exc:
        typer.echo(f"ml failed: {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"scored {summary.purchases} purchases, flagged {summary.flagged}, "
               f"model {summary.model_version} ({summary.seconds}s)")


typer.run(main)
