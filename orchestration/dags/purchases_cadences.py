"""The purchases stream's layered cadences as Airflow DAGs (orchestration/cadences.py): speed
every 5 minutes drains Kafka into bronze and silver (skipped while live mode's streams run;
silver's commit then starts purchases_gold), batch daily at 02:00 retrains the anomaly model on
all of gold and scores every purchase again, serving every 10 minutes refreshes the analyses'
JSON views, then runs the alert rules over the serving views (python -m serving alerts)."""

from __future__ import annotations

from orchestration.cadences import Step, cadence_dags
from orchestration.commands import lakehouse, python_module

globals().update(cadence_dags("purchases", {
    "speed": [
        Step("drain", lakehouse("drain"), "Drain the topic into bronze and silver; skipped (exit "
             "99) while live mode's streams run."),
    ],
    "batch": [
        Step("train_model", python_module("ml", "train"), "Fit the Isolation Forest on all of gold."),
        Step("rescore", python_module("ml", "score", "--rescore"), "Score every purchase again."),
    ],
    "serving": [
        Step("serve_analyses", lakehouse("query", "--all", "--serve"),
             "Run every analysis on published gold; write each as JSON under $LAKEHOUSE_HOME/serving."),
        Step("raise_alerts", python_module("serving", "alerts"),
             "Run every alert rule over the serving views: raise new alerts into serving.alerts, "
             "resolve the ones that cleared."),
    ],
}))
