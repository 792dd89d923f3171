"""The layered cadences of a stream as DAGs, from one factory: a speed layer every 5 minutes, a
batch layer daily at 02:00 and a serving layer every 10 minutes (UTC). A stream is a parameter:
`cadence_dags("purchases", {...})` gives the DAGs purchases_speed, purchases_batch and
purchases_serving, each running its steps in order, each step a project command. They start
paused: unpause the ones wanted (`lakehouse airflow run dags unpause purchases_speed`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG

from orchestration.commands import PROJECT_ROOT, default_args

CADENCES = {
    "speed": "*/5 * * * *",
    "batch": "0 2 * * *",
    "serving": "*/10 * * * *",
}


@dataclass(frozen=True)
class Step:
    task_id: str
    command: str
    doc: str
    pool: str | None = None  # an Airflow pool the step runs in (gold's writers share one)


def cadence_dags(stream: str, layers: Mapping[str, Sequence[Step]]) -> dict[str, DAG]:
    """One DAG per layer, `<stream>_<layer>`, on the layer's cadence; its steps run in order.
    A step that exits 99 skips itself and the steps after it (BashOperator's skip code)."""
    unknown = set(layers) - set(CADENCES)
    if unknown:
        raise ValueError(f"unknown layers {sorted(unknown)}; known: {sorted(CADENCES)}")
    dags = {}
    for layer, steps in layers.items():
        with DAG(
            dag_id=f"{stream}_{layer}",
            schedule=CADENCES[layer],
            max_active_runs=1,
            catchup=False,
            # unpaused, each would run at once for its latest interval; a user chooses which run
            is_paused_upon_creation=True,
            default_args=default_args(),
            tags=[stream, layer],
            doc_md="\n".join(f"- `{step.task_id}`: {step.doc}" for step in steps),
        ) as dag:
            previous = None
            for step in steps:
                task = BashOperator(task_id=step.task_id, bash_command=step.command,
                                    cwd=str(PROJECT_ROOT), doc_md=step.doc,
                                    **({"pool": step.pool} if step.pool else {}))
                if previous is not None:
                    previous >> task
                previous = task
        dags[dag.dag_id] = dag
    return dags
