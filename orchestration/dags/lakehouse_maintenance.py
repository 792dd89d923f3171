"""lakehouse_maintenance: daily table care at 03:00 (UTC): compaction, manifest rewrite, snapshot
expiry and orphan removal (spark_jobs/maintenance.py) for the silver tables, beside the running
stream (commit conflicts are retried), then for every gold table, in the one-slot pool it
shares with purchases_gold's write-audit-publish so it never runs between an audit and its
publish. It starts paused: unpause it in the UI or with
`lakehouse airflow run dags unpause lakehouse_maintenance`."""

from __future__ import annotations

from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import dag

from orchestration.commands import GOLD_POOL, PROJECT_ROOT, default_args, python_module


@dag(
    dag_id="lakehouse_maintenance",
    schedule="0 3 * * *",
    max_active_runs=1,
    # unpause it to let it run: it rewrites every table, and unpaused it would run at once
    is_paused_upon_creation=True,
    catchup=False,
    default_args=default_args(),
    tags=["maintenance"],
    doc_md=__doc__,
)
def lakehouse_maintenance() -> None:
    silver = BashOperator(
        task_id="maintain_silver",
        bash_command=python_module("spark_jobs.maintenance", "--layer", "silver"),
        cwd=str(PROJECT_ROOT),
    )
    gold = BashOperator(
        task_id="maintain_gold",
        bash_command=python_module("spark_jobs.maintenance", "--layer", "gold"),
        cwd=str(PROJECT_ROOT),
        pool=GOLD_POOL,
    )
    silver >> gold


lakehouse_maintenance()
