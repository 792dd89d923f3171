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
