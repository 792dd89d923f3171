"""Gold published by write-audit-publish on Iceberg branches (local profile).

`audit` builds every dbt model and runs every dbt test with Spark's `spark.wap.branch` set, so
each gold table's new snapshots land on its `audit` branch and the tests read that branch, while
readers of the table (its `main` branch) still see the last published state. A failed build or
test drops the branches: nothing of it is ever visible. `publish` fast-forwards each table's
`main` to its audit branch (the fact table first, then the marts) and drops the branch.

Each table's publish is one atomic Iceberg commit; across tables the publish is a sequence, so
for the moment between two fast-forwards a reader can see the new facts beside the previous
marts. After its fast-forwards a publish (re)creates the serving views (models/serving/), which
hold no rows and take each mart's watermark from the mart itself, so they are exact whichever
marts are published yet (README, "Serving layer and alerts").

Both steps are idempotent: an audit starts from a fresh branch, and a publish that stopped
half-way fast-forwards what is left on the next run. A fast-forward needs main not to
have moved since the audit branched off it, so whatever else commits to gold (maintenance) must
not run between the two: `update` runs both in one go for the DAG."""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field

from pyspark.sql import SparkSession

from lakehouse.logs import get_logger
from lakehouse.settings import GOLD_FACT_TABLE, SILVER_TABLE, Settings
from lakehouse.spark import spark_session
from ops.dbt_runner import dbt_ls, isolated, run_dbt

log = get_logger("gold")

AUDIT_BRANCH = "audit"
WAP_BRANCH_CONF = "spark.wap.branch"
# The serving views (models/serving/) hold no rows: they stay out of the audit and are
# (re)created after each publish, over the tables it published.
SERVING_MODELS = "path:models/serving"


class AuditFailed(RuntimeError):
    """The audit build or one of its tests failed; gold is unchanged."""


@dataclass
class GoldRelations:
    """The tables dbt builds in gold: models (fact first) and seeds."""

    models: list[str]
    seeds: list[str]

    @property
    def ordered_models(self) -> list[str]:
        return sorted(self.models, key=lambda table: table != GOLD_FACT_TABLE)


@dataclass
class AuditResult:
    branch: str
    silver_snapshot_id: int | None
    bootstrapped: list[str]
    # rows on the audit branch and on main, per table: what a publish would change
    audit_rows: dict[str, int] = field(default_factory=dict)
    published_rows: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def new_fact_rows(self) -> int:
        return self.audit_rows.get(GOLD_FACT_TABLE, 0) - self.published_rows.get(GOLD_FACT_TABLE, 0)


@dataclass
class PublishResult:
    branch: str
    published: list[str]
    fact_rows_before: int
    fact_rows_after: int
    seconds: float = 0.0

    @property
    def new_fact_rows(self) -> int:
        return self.fact_rows_after - self.fact_rows_before


def gold_relations(settings: Settings) -> GoldRelations:
    """The gold tables dbt builds, from `dbt ls` (ephemeral models have none)."""
    models, seeds = [], []
    for node in dbt_ls(settings, ["--resource-types", "model", "seed"]):
        if node["config"]["materialized"] in {"ephemeral", "view"}:
            continue
        table = f"{node['schema']}.{node['name']}"
        (seeds if node["resource_type"] == "seed" else models).append(table)
    return GoldRelations(models=models, seeds=seeds)


def _exists(spark: SparkSession, table: str) -> bool:
    return spark.catalog.tableExists(table)


def _branches(spark: SparkSession, table: str) -> set[str]:
    return {row.name for row in spark.sql(f"select name from {table}.refs where type = 'BRANCH'").collect()}


def _rows(spark: SparkSession, table: str, branch: str = "main") -> int:
    return int(spark.sql(f"select count(*) from {table} version as of '{branch}'").first()[0])


def current_snapshot_id(spark: SparkSession, table: str) -> int | None:
    row = spark.sql(f"select snapshot_id from {table}.refs where name = 'main'").first()
    return None if row is None else int(row.snapshot_id)


def _drop_branch(spark: SparkSession, table: str, branch: str) -> None:
    spark.sql(f"alter table {table} drop branch if exists `{branch}`")


def _bootstrap(settings: Settings, spark: SparkSession, relations: GoldRelations) -> list[str]:
    """Create, on main, the gold tables that do not exist yet: seeds with their rows (reference
    data), models empty (`dbt run --empty`), so the audit has a table to branch. A reader sees
    empty gold until the first publish, never unaudited rows."""
    missing_seeds = [t for t in relations.seeds if not _exists(spark, t)]
    missing_models = [t for t in relations.models if not _exists(spark, t)]
    if missing_seeds:
        _dbt_or_fail(settings, ["seed", "--select", *(t.split(".")[-1] for t in missing_seeds)])
    if missing_models:
        _dbt_or_fail(settings, ["run", "--empty", "--select",
                                *(t.split(".")[-1] for t in missing_models)])
    return missing_seeds + missing_models


def _dbt_or_fail(settings: Settings, args: list[str]) -> None:
    result = run_dbt(settings, [*args, *isolated(settings)])
    if not result.success:
        failed = [r.node.name for r in (result.result or []) if str(r.status) in {"error", "fail"}]
        raise AuditFailed(f"dbt {args[0]} failed: {', '.join(failed) or result.exception}")


def audit(settings: Settings, branch: str = AUDIT_BRANCH) -> AuditResult:
    """Build and test every gold model on `branch`; on failure drop the branch and raise."""
    if settings.profile != "local":
        raise ValueError("write-audit-publish runs on the local profile's Spark; on AWS, "
                         "`lakehouse dbt build` builds gold on Athena")
    started = time.monotonic()
    spark = spark_session(settings, "dbt")
    relations = gold_relations(settings)
    bootstrapped = _bootstrap(settings, spark, relations)
    for table in relations.models:
        spark.sql(f"alter table {table} set tblproperties ('write.wap.enabled'='true')")
        _drop_branch(spark, table, branch)  # a stale branch of an audit that stopped
    result = AuditResult(branch=branch, silver_snapshot_id=current_snapshot_id(spark, SILVER_TABLE),
                         bootstrapped=bootstrapped)
    spark.conf.set(WAP_BRANCH_CONF, branch)
    try:
        _dbt_or_fail(settings, ["build", "--exclude", "resource_type:seed", SERVING_MODELS])
    except AuditFailed:
        spark.conf.unset(WAP_BRANCH_CONF)
        for table in relations.models:
            _drop_branch(spark, table, branch)
        log.error("gold_audit_failed", branch=branch, tables=relations.models)
        raise
    spark.conf.unset(WAP_BRANCH_CONF)
    for table in relations.models:
        on_branch = branch in _branches(spark, table)
        result.published_rows[table] = _rows(spark, table)
        result.audit_rows[table] = _rows(spark, table, branch) if on_branch else result.published_rows[table]
    result.seconds = round(time.monotonic() - started, 2)
    log.info("gold_audited", **asdict(result))
    return result


def publish(settings: Settings, branch: str = AUDIT_BRANCH) -> PublishResult:
    """Fast-forward each gold table's main to its audited branch, the fact table first."""
    started = time.monotonic()
    spark = spark_session(settings, "gold-publish")
    relations = gold_relations(settings)
    before = _rows(spark, GOLD_FACT_TABLE) if _exists(spark, GOLD_FACT_TABLE) else 0
    published = []
    for table in relations.ordered_models:
        if not _exists(spark, table) or branch not in _branches(spark, table):
            continue
        spark.sql(f"call {settings.catalog_name}.system.fast_forward('{table}', 'main', '{branch}')")
        _drop_branch(spark, table, branch)
        published.append(table)
    after = _rows(spark, GOLD_FACT_TABLE) if _exists(spark, GOLD_FACT_TABLE) else 0
    if all(_exists(spark, table) for table in relations.models):
        _dbt_or_fail(settings, ["run", "--select", SERVING_MODELS])
    result = PublishResult(branch=branch, published=published, fact_rows_before=before,
                           fact_rows_after=after, seconds=round(time.monotonic() - started, 2))
    log.info("gold_published", **asdict(result))
    return result


def update(settings: Settings, branch: str = AUDIT_BRANCH) -> tuple[AuditResult, PublishResult]:
    """Audit, then publish: what the purchases_gold DAG runs, in one process (one Spark start)
    and one task, so that nothing else writing gold (its maintenance) can come between the
    audit and its publish: both hold the DAGs' one-slot pool `lakehouse_gold`."""
    audited = audit(settings, branch)
    return audited, publish(settings, branch)


def as_json(*results: AuditResult | PublishResult) -> str:
    """One JSON line: the last line a task prints is what Airflow keeps as its output."""
    merged: dict[str, object] = {}
    for result in results:
        key = "audit" if isinstance(result, AuditResult) else "publish"
        merged[key] = {**asdict(result), "new_fact_rows": result.new_fact_rows}
    if len(results) == 1:
        merged = next(iter(merged.values()))  # type: ignore[assignment]
    return json.dumps(merged, sort_keys=True)
