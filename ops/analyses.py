"""The dbt analyses (dbt_project/analyses: the Athena SQL) run on the local stack.

`dbt compile` renders them for the local target (Spark SQL on the shared Iceberg catalog), and
the compiled SQL runs in the same Spark session dbt used. On AWS the same files compile for
the athena target and run in Athena."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from pyspark.sql import functions as F
from rich.console import Console
from rich.table import Table

from lakehouse.logs import get_logger
from lakehouse.settings import DBT_PROJECT_DIR, Settings
from lakehouse.spark import spark_session
from ops.dbt_runner import dbt_target_dir, run_dbt

log = get_logger("analyses")

ANALYSES_DIR = DBT_PROJECT_DIR / "analyses"


class AnalysisError(RuntimeError):
    pass


@dataclass(frozen=True)
class AnalysisResult:
    name: str
    compiled_path: Path
    columns: list[str]
    rows: list[tuple[str | None, ...]]


def analysis_names() -> list[str]:
    return sorted(path.stem for path in ANALYSES_DIR.glob("*.sql"))


def compile_analyses(settings: Settings, names: Sequence[str], target_path: Path) -> dict[str, Path]:
    """`dbt compile` the analyses for the local target; each name -> its compiled SQL file."""
    unknown = sorted(set(names) - set(analysis_names()))
    if unknown:
        raise AnalysisError(
            f"no analysis {', '.join(unknown)}; choose from {', '.join(analysis_names())}"
        )
    log_path = target_path.parent / "logs"
    # dbt echoes the SQL of the analyses it compiled; the tables printed later say enough.
    result = run_dbt(settings, [
        "--log-level", "none", "compile", "--select", *names,
        "--target-path", str(target_path), "--log-path", str(log_path),
    ])
    if not result.success:
        errors = [str(r.message) for r in getattr(result.result, "results", []) if r.status == "error"]
        reason = "; ".join(errors) or result.exception or f"see {log_path / 'dbt.log'}"
        raise AnalysisError(f"dbt compile failed: {reason}")
    compiled = {}
    for node_result in result.result:
        node = node_result.node
        if node.resource_type == "analysis":
            compiled[node.name] = target_path / "compiled" / node.package_name / node.original_file_path
    return {name: compiled[name] for name in names}


def run_analyses(
    settings: Settings, names: Sequence[str], target_path: Path | None = None
) -> list[AnalysisResult]:
    """Compile the analyses, then run each compiled query; values come back as Spark's text."""
    compiled = compile_analyses(settings, names, target_path or dbt_target_dir(settings))
    spark = spark_session(settings, "analyses")
    results = []
    for name, path in compiled.items():
        frame = spark.sql(path.read_text())
        # Spark renders the values (timestamps in the session's UTC), not the Python process.
        rows = frame.select(*(F.col(c).cast("string") for c in frame.columns)).collect()
        results.append(AnalysisResult(name, path, frame.columns, [tuple(row) for row in rows]))
        log.info("analysis_ran", analysis=name, rows=len(rows), compiled=str(path))
    return results


def serve_result(result: AnalysisResult, folder: Path) -> Path:
    """The result as `<folder>/<name>.json` (columns, rows, when), replaced atomically so a
    reader never sees half a file."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{result.name}.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({
        "name": result.name, "columns": result.columns, "rows": result.rows,
        "served_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }))
    tmp.replace(path)
    return path


def print_result(result: AnalysisResult, limit: int, console: Console | None = None) -> None:
    shown = result.rows[:limit] if limit > 0 else result.rows
    table = Table(title=result.name, caption=f"{len(shown)} of {len(result.rows)} rows")
    for column in result.columns:
        table.add_column(column)
    for row in shown:
        table.add_row(*("" if value is None else value for value in row))
    console = console or Console()
    console.print(table)
    console.print(f"compiled SQL: {result.compiled_path}", soft_wrap=True, highlight=False)
