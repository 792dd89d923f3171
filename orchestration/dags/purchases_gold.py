"""purchases_gold: gold follows silver. An Iceberg snapshot watcher on silver.purchases (the
asset below) starts a run each time the silver stream commits. The run builds every gold model
and runs every dbt test on an audit branch, publishes only when all passed (write-audit-publish,
`lakehouse gold update`, ops/gold.py), then scores the new purchases with the anomaly model.

One run at a time: snapshots committed while a run works are picked up by the next run, whose
build reads silver as it is then (gold appends only the event_ids it lacks, so nothing is built
twice). Each task prints a JSON line last, kept as its output (XCom) in the UI: the silver
snapshot consumed, the gold rows published, the anomalies flagged."""

from __future__ import annotations

from airflow.providers.apache.iceberg.triggers.iceberg import IcebergTableSnapshotTrigger
from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import Asset, AssetWatcher, dag

from orchestration.commands import GOLD_POOL, PROJECT_ROOT, default_args, lakehouse, python_module, setting

silver_purchases = Asset(
    name="silver.purchases",
    uri="iceberg://lakehouse/silver/purchases",
    watchers=[AssetWatcher(
        name="silver_purchases_snapshots",
        trigger=IcebergTableSnapshotTrigger(
            table="silver.purchases",
            iceberg_conn_id=setting("catalog_name"),
            poll_interval=float(setting("gold_poll_seconds")),
        ),
    )],
)
# Published gold: what a downstream DAG (dashboard refresh, serving) can be scheduled on.
gold_fct_purchases = Asset(name="gold.fct_purchases", uri="iceberg://lakehouse/gold/fct_purchases")


@dag(
    dag_id="purchases_gold",
    schedule=[silver_purchases],
    max_active_runs=1,
    catchup=False,
    is_paused_upon_creation=False,
    default_args=default_args(),
    tags=["gold", "write-audit-publish"],
    doc_md=__doc__,
)
def purchases_gold() -> None:
    update = BashOperator(
        task_id="audit_and_publish",
        doc_md="dbt build (models and every data test) on the Iceberg branch `audit`, then "
               "fast-forward every gold table to it, fct_purchases first. A failed build or test "
               "drops the branch and leaves gold as it was.",
        bash_command=lakehouse("gold", "update"),
        cwd=str(PROJECT_ROOT),
        pool=GOLD_POOL,
        outlets=[gold_fct_purchases],
    )
    score = BashOperator(
        task_id="score_anomalies",
        doc_md="Train a model if none is registered, then score the purchases not scored yet.",
        bash_command=python_module("ml"),
        cwd=str(PROJECT_ROOT),
    )
    update >> score


purchases_gold()
