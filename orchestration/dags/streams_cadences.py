"""The Airflow DAGs of every stream beside purchases (a contract in contracts/), from the same
factory as purchases' (orchestration/cadences.py): speed every 5 minutes drains the stream's
topic into bronze and silver (skipped while live mode's streams run); batch daily at 02:00
drains it and rebuilds and publishes gold, the stream's marts with it, through write-audit-
publish in the gold writers' pool. A new contract gets its DAGs here with no new code."""

from __future__ import annotations

from orchestration.cadences import Step, cadence_dags
from orchestration.commands import GOLD_POOL, lakehouse, stream_names

for stream in stream_names():
    if stream == "purchases":  # purchases_cadences.py: its gold follows its silver commits
        continue
    drain = Step("drain", lakehouse("drain", "--stream", stream),
                 f"Drain topic {stream} into bronze and silver; skipped (exit 99) while live "
                 "mode's streams run.")
    globals().update(cadence_dags(stream, {
        "speed": [drain],
        "batch": [drain, Step("publish_gold", lakehouse("gold", "update"),
                              "Build and test every gold model on the audit branch, this "
                              "stream's marts among them; publish when all passed.", GOLD_POOL)],
    }))
