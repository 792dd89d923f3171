"""Run dbt on the local target: in-process Spark on the shared Iceberg catalog.

dbt-spark's `session` method picks up the Spark session that is already running in the
process, so opening it here from the settings keeps one source for every Spark conf."""

from __future__ import annotations

from collections.abc import Sequence

from dbt.cli.main import dbtRunner, dbtRunnerResult

from lakehouse.settings import DBT_PROJECT_DIR, Settings
from lakehouse.spark import spark_session


def run_dbt(settings: Settings, args: Sequence[str]) -> dbtRunnerResult:
    spark_session(settings, "dbt")
    command = [
        *args,
        "--project-dir", str(DBT_PROJECT_DIR),
        "--profiles-dir", str(DBT_PROJECT_DIR),
        "--target", "local",
    ]
    return dbtRunner().invoke(command)
