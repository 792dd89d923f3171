"""`lakehouse`: run the local stack and the pipeline's stages from one command."""

from __future__ import annotations

import typer

from lakehouse import local_kafka
from lakehouse.settings import Settings

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(1)


@app.command()
def up() -> None:
    """Start the local Kafka broker (KRaft, 127.0.0.1) unless it runs; wait until it answers."""
    settings = Settings()
    try:
        pid = local_kafka.start(settings)
    except local_kafka.BrokerError as exc:
        raise _fail(str(exc)) from exc
    typer.echo(f"kafka broker running: pid {pid}, bootstrap {settings.kafka_bootstrap}")


@app.command()
def down() -> None:
    """Stop the broker `up` started (by its pid)."""
    stopped = local_kafka.stop(Settings())
    typer.echo("kafka broker stopped" if stopped else "kafka broker was not running")


@app.command()
def status() -> None:
    """Say whether the local broker runs."""
    settings = Settings()
    pid = local_kafka.status(settings)
    if pid is None:
        typer.echo("kafka broker: not running")
        raise typer.Exit(3)
    typer.echo(f"kafka broker: running, pid {pid}, bootstrap {settings.kafka_bootstrap}")


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def dbt(ctx: typer.Context) -> None:
    """Run dbt on the local target, e.g. `lakehouse dbt build` or `lakehouse dbt docs generate`."""
    from lakehouse.dbt_local import run_dbt

    result = run_dbt(Settings(), ctx.args or ["build"])
    if not result.success:
        raise _fail(f"dbt {' '.join(ctx.args or ['build'])} failed")
