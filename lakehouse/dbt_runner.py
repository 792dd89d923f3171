"""Run dbt on the target of the settings profile.

`local`: in-process Spark on the shared Iceberg catalog. dbt-spark's `session` method picks up
the Spark session that is already running in the process, so opening it here from the settings
keeps one source for every Spark conf. `aws`: the `athena` target, whose bucket, region and
workgroup dbt_project/profiles.yml reads from the variables the settings hand it here."""

from __future__ import annotations

import os
from collections.abc import Sequence

from dbt.cli.main import dbtRunner, dbtRunnerResult

from lakehouse.settings import DBT_PROJECT_DIR, Settings
from lakehouse.spark import spark_session


def dbt_target(settings: Settings) -> str:
    return "athena" if settings.profile == "aws" else "local"


def run_dbt(settings: Settings, args: Sequence[str]) -> dbtRunnerResult:
    if settings.profile == "aws":
        os.environ.update(settings.dbt_athena_env())
    else:
        spark_session(settings, "dbt")
    command = [
        *args,
        "--project-dir", str(DBT_PROJECT_DIR),
        "--profiles-dir", str(DBT_PROJECT_DIR),
        "--target", dbt_target(settings),
    ]
    return dbtRunner().invoke(command)
