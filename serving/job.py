"""One alert run: every rule's query over the serving views, then one MERGE into
`serving.alerts` with what changed (serving/alerts.py decides what that is)."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime

from pyspark.errors import AnalysisException
from pyspark.sql import SparkSession

from lakehouse.logs import get_logger
from lakehouse.settings import Settings
from lakehouse.spark import spark_session
from serving.alerts import ALERTS_COLUMNS, ALERTS_TABLE, OPEN, Alert, Breach, breaches, next_alerts
from serving.rules import rules

log = get_logger("serving")


@dataclass
class AlertRun:
    ran: list[str]
    skipped: dict[str, str]  # rule -> why it could not run
    raised: list[dict[str, object]] = field(default_factory=list)
    still_open: int = 0
    resolved: list[dict[str, object]] = field(default_factory=list)
    open_alerts: int = 0
    seconds: float = 0.0


def create_alerts_table(spark: SparkSession) -> None:
    spark.sql("create namespace if not exists serving")
    columns = ", ".join(f"{name} {kind}" for name, kind in ALERTS_COLUMNS)
    spark.sql(f"create table if not exists {ALERTS_TABLE} ({columns}) using iceberg")


def _open_alerts(spark: SparkSession) -> list[Alert]:
    rows = spark.sql(f"select * from {ALERTS_TABLE} where status = '{OPEN}'").collect()
    return [Alert(**row.asDict()) for row in rows]


def _merge(spark: SparkSession, alerts: list[Alert]) -> None:
    if not alerts:
        return
    schema = ", ".join(f"{name} {kind}" for name, kind in ALERTS_COLUMNS)
    changes = spark.createDataFrame([asdict(alert) for alert in alerts], schema)
    changes.createOrReplaceTempView("alert_changes")
    spark.sql(f"""
        merge into {ALERTS_TABLE} as alerts using alert_changes as changes
        on alerts.alert_id = changes.alert_id
        when matched then update set *
        when not matched then insert *
    """)


def run_alerts(settings: Settings, now: datetime | None = None) -> AlertRun:
    """Run every rule once at `now` (default: the clock) and write what changed."""
    if settings.profile != "local":
        raise ValueError("alerts run on the local profile's Spark; on aws the serving views are "
                         "Athena views, which Spark cannot read (README, Alerts)")
    started = time.monotonic()
    now = (now or datetime.now(UTC)).replace(tzinfo=None, microsecond=0)
    spark = spark_session(settings, "serving-alerts")
    create_alerts_table(spark)
    found: list[Breach] = []
    run = AlertRun(ran=[], skipped={})
    for rule in rules(settings.alert_freshness_limit_seconds):
        try:
            values = {row.subject: row.value for row in spark.sql(rule.sql(now)).collect()}
        except AnalysisException as exc:  # a view or table nothing has written yet
            run.skipped[rule.name] = str(exc).splitlines()[0][:300]
            log.warning("alert_rule_skipped", rule=rule.name, why=run.skipped[rule.name])
            continue
        run.ran.append(rule.name)
        found += breaches(rule.name, rule.threshold, values, now - rule.window, now)
    held = _open_alerts(spark)
    changes = next_alerts(held, found, set(run.ran), now)
    _merge(spark, changes.rows)
    run.raised = [{"rule": a.rule, "subject": a.subject, "value": a.value} for a in changes.raised]
    run.still_open = len(changes.still_open)
    run.resolved = [{"rule": a.rule, "subject": a.subject} for a in changes.resolved]
    run.open_alerts = len(changes.raised) + len(changes.still_open) + len(
        [a for a in held if a.key not in {c.key for c in changes.rows}])
    run.seconds = round(time.monotonic() - started, 2)
    log.info("alerts_run", **asdict(run))
    return run
