"""Every alert rule, each declared once: a name, a query, a threshold and a window.

A rule's query is Spark SQL over the serving views (or gold and silver) that gives one row per
subject it watches, `subject` (a string) and `value` (a number), over the window that ends now:
`{window_start}` and `{now}` are filled in as UTC timestamp literals. A subject is in breach
when its value is above the threshold. To add a rule, add a Rule to `rules()`: nothing else
names it (README, "Alerts")."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from lakehouse.contract import contracts

TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S"


@dataclass(frozen=True)
class Rule:
    name: str
    description: str
    query: str
    threshold: float
    window: timedelta

    def sql(self, now: datetime) -> str:
        return self.query.format(window_start=(now - self.window).strftime(TIMESTAMP_FORMAT),
                                 now=now.strftime(TIMESTAMP_FORMAT))


def silver_freshness_query() -> str:
    """Seconds since each stream's silver table last received a row; a stream that never ran
    (an empty table) is not watched."""
    return "\nunion all\n".join(
        f"select '{name}' as subject, "
        f"unix_timestamp(timestamp '{{now}}') - unix_timestamp(max(ingested_at)) as value "
        f"from {stream.silver_table} having max(ingested_at) is not null"
        for name, stream in contracts().items())


def rules(freshness_limit_seconds: float) -> tuple[Rule, ...]:
    return (
        Rule(
            name="sensor_out_of_range",
            description="A device's readings of a metric were mostly outside the metric's normal "
                        "range (seed sensor_normal_ranges) in the hours of the last hour.",
            query="""
                select concat(device_id, ' ', metric) as subject,
                       sum(out_of_range_readings) / sum(readings) as value
                from serving.sensor_readings_hourly
                where reading_hour >= date_trunc('hour', timestamp '{window_start}')
                group by device_id, metric
                having sum(readings) >= 3
            """,
            threshold=0.5,
            window=timedelta(hours=1),
        ),
        Rule(
            name="endpoint_error_rate",
            description="An endpoint answered more than 5% of its requests of the last 10 minutes "
                        "with a server error (at least 20 requests).",
            query="""
                select concat(service, ' ', method, ' ', endpoint) as subject,
                       sum(server_errors) / sum(requests) as value
                from serving.api_latency_minutely
                where request_minute >= timestamp '{window_start}'
                group by service, method, endpoint
                having sum(requests) >= 20
            """,
            threshold=0.05,
            window=timedelta(minutes=10),
        ),
        Rule(
            name="large_transfer_burst",
            description="An account made more than 3 large transfers (the dbt var "
                        "large_transfer_min_amount) since the start of yesterday (UTC).",
            query="""
                select account_id as subject, sum(large_transfers) as value
                from serving.account_daily
                where event_date >= cast(timestamp '{window_start}' as date)
                group by account_id
            """,
            threshold=3,
            window=timedelta(days=1),
        ),
        Rule(
            name="anomaly_share",
            description="The share of the last day's purchases the anomaly model flags is more "
                        "than twice its share over every scored purchase (at least 50 scored "
                        "in the day).",
            query="""
                with flagged as (
                    select event_id, max(cast(is_anomaly as int)) as is_anomaly
                    from gold.purchase_anomalies
                    group by event_id
                ),
                scored as (
                    select purchases.event_time, flagged.is_anomaly
                    from flagged
                    join gold.fct_purchases as purchases on purchases.event_id = flagged.event_id
                ),
                shares as (
                    select
                        avg(is_anomaly) as usual,
                        avg(case when event_time >= timestamp '{window_start}'
                                 then is_anomaly end) as recent,
                        count(case when event_time >= timestamp '{window_start}'
                                   then 1 end) as recent_count
                    from scored
                )
                select 'purchases' as subject, recent / usual as value
                from shares
                where usual > 0 and recent_count >= 50
            """,
            threshold=2.0,
            window=timedelta(days=1),
        ),
        Rule(
            name="silver_freshness",
            description="A stream's silver table has received no row for longer than its limit "
                        "(LAKEHOUSE_ALERT_FRESHNESS_LIMIT_SECONDS).",
            query=silver_freshness_query(),
            threshold=freshness_limit_seconds,
            window=timedelta(seconds=freshness_limit_seconds),
        ),
    )
