"""python -m bench (make bench): measure the pipeline on the local stack beside
baselines from the same run, print a table and the JSON document, save it, print its path."""

from __future__ import annotations

import json
import shutil
import signal
import sys
from datetime import UTC, datetime
from enum import StrEnum

import typer
from rich.console import Console

from bench.figures import SIZES, Report, figures_table, memory_table
from bench.processes import MemorySampler
from bench.stages import STAGES, Bench, free_bench_settings, machine, run_all
from lakehouse.settings import Settings

app = typer.Typer(add_completion=False, help=__doc__)
STAGE_NAMES = ", ".join(s.__name__.removeprefix("measure_") for s in STAGES)
# Bulky state a run leaves under its home; the logs and the report stay.
SCRATCH = ("kafka", "bronze", "warehouse", "checkpoints", "freshness", "dbt", "models",
           "catalog.db", "catalog.db-shm", "catalog.db-wal", "spark-warehouse", "derby")


class SizeName(StrEnum):
    small = "small"
    full = "full"


@app.command()
def main(
    size: SizeName = typer.Option(SizeName.full, help="full: 1,000,000 events, 1 + 2 min "
                                  "freshness, the sustained rate; small: a quick check under two "
                                  "minutes (producer, drains and freshness on 5,000 events; dbt "
                                  "and ml: --only drains --only dbt --only ml)."),
    interval: str = typer.Option("1 second", help="Silver's processing-time trigger interval "
                                 "during the freshness and sustained runs."),
    only: list[str] = typer.Option(None, help=f"Run only these stages: {STAGE_NAMES} "
                                   "(later stages need the earlier ones' data)."),
    keep: bool = typer.Option(False, help="Keep the run's broker data, tables and checkpoints."),
) -> None:
    """Run every stage on a broker, catalog and topics of the benchmark's own."""
    # SIGTERM unwinds like Ctrl-C, so the broker and running stages are stopped on the way out
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    console = Console(highlight=False)
    if not console.is_terminal:  # a log file: keep each table row on one line
        console = Console(highlight=False, width=170)
    project = Settings()
    run_id = f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{size.value}"
    home = project.home / "bench" / run_id
    report = Report(run_id, SIZES[size.value], machine())
    with MemorySampler() as sampler:
        bench = Bench(SIZES[size.value], free_bench_settings(home), sampler, report,
                      lambda line: console.print(line, markup=False, soft_wrap=True), interval)
        console.print(f"bench {run_id}: home {home}", markup=False, soft_wrap=True)
        failure: Exception | None = None
        try:
            run_all(bench, only or ())
        except Exception as exc:  # noqa: BLE001 - reported below, with what was measured
            failure = exc
            report.details["failed"] = str(exc)
        finally:
            if not keep:
                for name in SCRATCH:
                    path = home / name
                    shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(
                        missing_ok=True)
    console.print(figures_table(report))
    console.print(memory_table(report))
    document = json.dumps(report.as_dict(), indent=2)
    typer.echo(document)
    project.reports_dir.mkdir(parents=True, exist_ok=True)
    path = project.reports_dir / f"bench-{run_id}.json"
    path.write_text(document + "\n")
    typer.echo(str(path))
    if failure is not None:
        typer.echo(f"bench failed: {failure}", err=True)
        raise typer.Exit(1)


if __name__ == "__main__":
    app(prog_name="python -m bench")
