"""Every query the dashboard runs, each defined once in DuckDB's SQL over the lakehouse's own
table names (`gold.fct_purchases`, `silver.purchases`, ...). Locally DuckDB runs the text as it
is over pyiceberg scans; on the aws profile sqlglot renders it for Athena (engine 3, Trino's
dialect). Pure: no I/O here."""

from __future__ import annotations

from functools import cache

import sqlglot
from sqlglot import exp

SOURCE_DIALECT = "duckdb"
ATHENA_DIALECT = "trino"

QUERIES: dict[str, str] = {
    # ---- operations: IoT sensors and API logs
    "sensor_out_of_range_by_metric": """
        select
            metric,
            unit,
            sum(readings) as readings,
            sum(out_of_range_readings) as out_of_range_readings,
            round(100.0 * sum(out_of_range_readings) / sum(readings), 2) as out_of_range_pct
        from gold.agg_sensor_readings_hourly
        group by metric, unit
        order by out_of_range_pct desc, metric
    """,
    "sensor_devices_out_of_range": """
        select
            device_id,
            site,
            metric,
            sum(readings) as readings,
            sum(out_of_range_readings) as out_of_range_readings,
            min(min_battery_pct) as lowest_battery_pct
        from gold.agg_sensor_readings_hourly
        group by device_id, site, metric
        order by out_of_range_readings desc, device_id
    """,
    "api_endpoints": """
        select
            service,
            endpoint,
            method,
            sum(requests) as requests,
            sum(server_errors) as server_errors,
            sum(client_errors) as client_errors,
            round(100.0 * sum(server_errors) / sum(requests), 2) as server_error_pct,
            max(latency_p95_ms) as worst_minute_p95_ms
        from gold.agg_api_latency_minutely
        group by service, endpoint, method
        order by server_error_pct desc, requests desc, endpoint
    """,
    # ---- engagement: clickstream and social mentions
    "funnel_by_category": """
        select
            category,
            sum(sessions) as sessions,
            sum(viewed_product) as viewed_product,
            sum(added_to_cart) as added_to_cart,
            sum(checked_out) as checked_out,
            sum(purchased) as purchased,
            round(100.0 * sum(purchased) / sum(sessions), 2) as conversion_pct
        from gold.agg_funnel_daily
        group by category
        order by conversion_pct desc, category
    """,
    "product_sentiment": """
        select
            product_id,
            product_name,
            category,
            sum(mentions) as mentions,
            round(sum(avg_sentiment * mentions) / sum(mentions), 2) as sentiment,
            sum(positive_mentions) as positive_mentions,
            sum(negative_mentions) as negative_mentions
        from gold.agg_product_mentions_daily
        group by product_id, product_name, category
        order by mentions desc, product_id
    """,
    # ---- payments: financial transactions
    "transactions_by_currency": """
        select
            currency,
            sum(transaction_count) as transactions,
            sum(amount_total) as amount,
            sum(large_transfers) as large_transfers,
            sum(purchase_payments) as purchase_payments
        from gold.agg_account_daily
        group by currency
        order by amount desc, currency
    """,
    "large_transfer_days": """
        select
            account_id,
            event_date,
            currency,
            transaction_count as transactions,
            amount_total,
            largest_amount,
            large_transfers
        from gold.agg_account_daily
        where has_large_transfer
        order by largest_amount desc, account_id
    """,
    # ---- sales
    "sales_kpis": """
        select
            currency,
            sum(total_amount) as revenue,
            count(*) as orders,
            round(sum(total_amount) / count(*), 2) as average_order_value
        from gold.fct_purchases
        group by currency
        order by revenue desc, currency
    """,
    "revenue_by_day_and_category": """
        select
            event_date,
            category,
            currency,
            orders,
            revenue
        from gold.agg_daily_sales
        order by event_date, category, currency
    """,
    "city_premium_share": """
        select
            country,
            city,
            currency,
            orders,
            revenue,
            premium_revenue,
            premium_share_pct
        from gold.agg_city_performance
        order by premium_share_pct desc, revenue desc, city
    """,
    "top_customers": """
        select
            customer_id,
            home_city,
            home_country,
            is_member,
            orders,
            lifetime_value_eur,
            average_order_value_eur
        from gold.dim_customers
        where is_top_10_percent
        order by lifetime_value_eur desc, customer_id
    """,
    "customer_value_deciles": """
        select
            value_decile,
            customers,
            lifetime_value_eur,
            revenue_share_pct
        from gold.agg_customer_value
        order by value_decile
    """,
    # ---- products
    "product_profitability": """
        select
            product_id,
            product_name,
            category,
            currency,
            case when is_member then 'member' else 'non-member' end as segment,
            count(*) as orders,
            sum(quantity) as units,
            sum(total_amount) as revenue
        from gold.fct_purchases
        group by product_id, product_name, category, currency, is_member
        order by revenue desc, product_id, segment
    """,
    # The events carry no stock levels: demand running ahead of a product's own usual pace is
    # what the data says about stock running down (the inventory_pressure analysis asks it per
    # day). The usual pace is the daily average over the 7 days before the last 24 hours, or
    # over the days of data there are when fewer.
    "products_under_pressure": """
        with purchases as (
            select product_id, product_name, category, event_time, quantity
            from gold.fct_purchases
        ),
        span as (
            select
                max(event_time) as newest_event_time,
                least(7.0, date_diff('second', min(event_time), max(event_time)) / 86400.0 - 1.0)
                    as prior_days
            from purchases
        ),
        windows as (
            select
                purchases.product_id,
                purchases.product_name,
                purchases.category,
                span.prior_days,
                sum(case when purchases.event_time > span.newest_event_time - interval 1 day
                    then purchases.quantity else 0 end) as units_last_24h,
                sum(case when purchases.event_time <= span.newest_event_time - interval 1 day
                    and purchases.event_time > span.newest_event_time - interval 8 day
                    then purchases.quantity else 0 end) as units_prior_7d
            from purchases
            cross join span
            group by purchases.product_id, purchases.product_name, purchases.category, span.prior_days
        ),
        paced as (
            select
                product_id,
                product_name,
                category,
                units_last_24h,
                case when prior_days > 0 then units_prior_7d / prior_days end as daily_units_before
            from windows
        )
        select
            product_id,
            product_name,
            category,
            units_last_24h,
            round(daily_units_before, 2) as daily_units_before,
            case when daily_units_before > 0
                then round(units_last_24h / daily_units_before, 2) end as pressure_ratio
        from paced
        order by pressure_ratio desc nulls last, units_last_24h desc, product_id
    """,
    # ---- anomalies
    "anomaly_share_by_day": """
        select
            purchases.event_date,
            count(*) as scored,
            sum(case when anomalies.is_anomaly then 1 else 0 end) as flagged,
            round(100.0 * sum(case when anomalies.is_anomaly then 1 else 0 end) / count(*), 2)
                as flagged_pct
        from gold.fct_purchases as purchases
        inner join gold.purchase_anomalies as anomalies
            on purchases.event_id = anomalies.event_id
        group by purchases.event_date
        order by purchases.event_date
    """,
    "flagged_purchases": """
        select
            purchases.event_time,
            anomalies.anomaly_score,
            split_part(anomalies.top_features, '=', 1) as leading_feature,
            anomalies.top_features,
            purchases.customer_id,
            purchases.city,
            purchases.country,
            purchases.product_name,
            purchases.category,
            purchases.quantity,
            purchases.total_amount,
            purchases.currency,
            purchases.payment_method,
            purchases.event_id
        from gold.fct_purchases as purchases
        inner join gold.purchase_anomalies as anomalies
            on purchases.event_id = anomalies.event_id
        where anomalies.is_anomaly
        order by anomalies.anomaly_score desc, purchases.event_id
    """,
    # ---- pipeline health
    "silver_freshness": """
        select
            (select max(committed_at) from silver."purchases$snapshots") as last_commit_at,
            (select max(event_time) from silver.purchases) as newest_event_at
    """,
    "row_counts": """
        select 'silver.purchases' as table_name, count(*) as row_count from silver.purchases
        union all
        select 'silver.purchases_quarantine', count(*) from silver.purchases_quarantine
        union all
        select 'gold.fct_purchases', count(*) from gold.fct_purchases
        union all
        select 'gold.purchase_anomalies', count(*) from gold.purchase_anomalies
    """,
    "books_per_batch": """
        select
            batch_id,
            committed_at,
            input_rows,
            silver_rows,
            quarantined_rows,
            duplicates_dropped,
            already_present,
            input_rows - silver_rows - quarantined_rows - duplicates_dropped - already_present
                as unbalanced
        from silver.purchases_batches
        order by committed_at desc, batch_id desc
        limit 500
    """,
    # ---- alerts: the serving layer's rules (`python -m serving alerts`)
    "open_alerts": """
        select
            rule,
            subject,
            value,
            threshold,
            first_seen,
            last_seen,
            window_start,
            window_end
        from serving.alerts
        where status = 'open'
        order by first_seen desc, rule, subject
    """,
    "recent_alerts": """
        select
            rule,
            subject,
            status,
            value,
            threshold,
            first_seen,
            resolved_at
        from serving.alerts
        order by coalesce(resolved_at, last_seen) desc, rule, subject
        limit 50
    """,
    "quarantine_by_reason": """
        select
            reason,
            count(*) as row_count
        from silver.purchases_quarantine
        group by reason
        order by row_count desc, reason
    """,
}


def sql(name: str) -> str:
    """The query as it is defined (DuckDB's dialect)."""
    try:
        return QUERIES[name]
    except KeyError:
        raise KeyError(f"no dashboard query {name!r}; known: {', '.join(sorted(QUERIES))}") from None


@cache
def render(name: str, dialect: str = SOURCE_DIALECT) -> str:
    """The query in `dialect`: as defined for DuckDB, rendered by sqlglot for any other."""
    text = sql(name)
    if dialect == SOURCE_DIALECT:
        return text
    return sqlglot.transpile(text, read=SOURCE_DIALECT, write=dialect, pretty=True)[0]


@cache
def tables_of(name: str) -> tuple[str, ...]:
    """The `namespace.table` names the query reads (a metadata table keeps its `$suffix`)."""
    tree = sqlglot.parse_one(sql(name), read=SOURCE_DIALECT)
    ctes = {cte.alias for cte in tree.find_all(exp.CTE)}
    names = {f"{table.db}.{table.name}" if table.db else table.name
             for table in tree.find_all(exp.Table) if table.name not in ctes or table.db}
    return tuple(sorted(names))
