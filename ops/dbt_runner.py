"""Run dbt on the target of the settings profile.

dbt_project/profiles.yml reads what each target needs from environment variables, and
`dbt_env` is the one translation of the settings into them: for `local`, the jobs' own Spark
conf (dbt-spark's `session` method opens the in-process session on the shared Iceberg catalog
from it); for `athena`, the results bucket, gold bucket, region and workgroup. `run_dbt` sets
them and runs dbt in this process; `lakehouse dbt-env` prints them for a shell, so plain `dbt`
commands in dbt_project/ run the same way."""

from __future__ import annotations

import json
import os
import shlex
from collections.abc import Sequence
from pathlib import Path

from dbt.cli.main import dbtRunner, dbtRunnerResult

from lakehouse.settings import DBT_PROJECT_DIR, Settings
from lakehouse.spark import spark_conf, spark_session

# The local target's `server_side_parameters`, as JSON (profiles.yml).
SPARK_CONF_VARIABLE = "LAKEHOUSE_DBT_SPARK_CONF"


def dbt_target(settings: Settings) -> str:
    return "athena" if settings.profile == "aws" else "local"


def dbt_env(settings: Settings) -> dict[str, str]:
    """The variables dbt_project/profiles.yml reads, from these settings."""
    env = {
        "LAKEHOUSE_AWS_REGION": settings.aws_region,
        "LAKEHOUSE_ATHENA_WORKGROUP": settings.athena_workgroup,
    }
    # Unset locations keep the profile's placeholders, so the athena target still compiles
    # offline on the local profile.
    if settings.athena_results_s3:
        env["LAKEHOUSE_ATHENA_RESULTS_S3"] = settings.athena_results_s3
    if settings.gold_s3:
        env["LAKEHOUSE_GOLD_S3"] = settings.gold_s3
    if settings.profile == "local":
        env[SPARK_CONF_VARIABLE] = json.dumps(spark_conf(settings), sort_keys=True)
    return env


def dbt_target_dir(settings: Settings) -> Path:
    """dbt's artefacts for this home: runs on different homes never share compiled files."""
    return settings.home / "dbt" / "target"


def isolated(settings: Settings) -> list[str]:
    """dbt arguments that keep a run's artefacts and logs under the settings' home, so a
    scheduled run and a user's `dbt` in dbt_project/ never write the same files."""
    target = dbt_target_dir(settings)
    return ["--target-path", str(target), "--log-path", str(target.parent / "logs")]


def shell_exports(env: dict[str, str]) -> str:
    """`env` as lines a POSIX shell evaluates: `eval "$(lakehouse dbt-env)"`."""
    return "".join(f"export {name}={shlex.quote(value)}\n" for name, value in sorted(env.items()))


def run_dbt(settings: Settings, args: Sequence[str]) -> dbtRunnerResult:
    os.environ.update(dbt_env(settings))
    if settings.profile == "local":
        # Opened here rather than by dbt-spark on its first query, so its logs and start-up
        # happen before dbt's; the conf is the same.
        spark_session(settings, "dbt")
    command = [
        *args,
        "--project-dir", str(DBT_PROJECT_DIR),
        "--profiles-dir", str(DBT_PROJECT_DIR),
        "--target", dbt_target(settings),
    ]
    return dbtRunner().invoke(command)


def dbt_ls(settings: Settings, args: Sequence[str]) -> list[dict]:
    """`dbt ls` of the project, one dict per node (no Spark session needed)."""
    os.environ.update(dbt_env(settings))
    result = dbtRunner().invoke([
        "ls", *args, *isolated(settings), "--log-level", "none",
        "--output", "json", "--output-keys", "name resource_type config schema",
        "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
        "--target", dbt_target(settings),
    ])
    if not result.success:
        raise RuntimeError(f"dbt ls failed: {result.exception}")
    return [json.loads(line) for line in result.result]
