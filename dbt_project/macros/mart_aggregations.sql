{#
    The aggregations of the marts that have a serving view (models/serving/), each written
    once: the mart runs it over all of its rows, the serving view over the rows silver
    committed after the mart's watermark. `newest_arrival` (the newest silver ingested_at a
    group holds) is that watermark: the newest over a whole mart is where its batch view ends.
    Each argument is a relation or a parenthesised query with the columns the macro names.
#}

{% macro is_premium(amount) -%}
    {{ amount }} >= {{ var('premium_order_min_amount') }}
{%- endmacro %}

{% macro daily_sales_of(purchases) %}
    select
        event_date,
        category,
        currency,
        count(*) as orders,
        sum(quantity) as units,
        sum(total_amount) as revenue,
        cast(sum(total_amount) / count(*) as decimal(12, 2)) as average_order_value,
        max(ingested_at) as newest_arrival
    from {{ purchases }} as purchases
    group by
        event_date,
        category,
        currency
{% endmacro %}

{#- city totals before the shares: sums only, so a batch and a speed part add up -#}
{% macro city_totals_of(purchases) %}
    select
        country,
        city,
        currency,
        count(*) as orders,
        sum(case when is_premium then 1 else 0 end) as premium_orders,
        sum(total_amount) as revenue,
        sum(case when is_premium then total_amount else 0 end) as premium_revenue,
        sum(case when is_premium then 0 else total_amount end) as standard_revenue,
        max(ingested_at) as newest_arrival
    from {{ purchases }} as purchases
    group by
        country,
        city,
        currency
{% endmacro %}

{% macro city_shares_of(totals) %}
    select
        country,
        city,
        currency,
        orders,
        premium_orders,
        orders - premium_orders as standard_orders,
        revenue,
        premium_revenue,
        standard_revenue,
        cast(100 * premium_revenue / revenue as decimal(5, 2)) as premium_share_pct,
        newest_arrival
    from {{ totals }} as totals
{% endmacro %}

{% macro sensor_readings_hourly_of(readings, ranges) %}
    select
        readings.device_id,
        readings.site,
        readings.metric,
        readings.unit,
        {{ dbt.date_trunc('hour', 'readings.event_time') }} as reading_hour,
        count(*) as readings,
        min(readings.reading_value) as min_value,
        max(readings.reading_value) as max_value,
        cast(avg(readings.reading_value) as decimal(12, 2)) as avg_value,
        sum(
            case
                when readings.reading_value < ranges.normal_min then 1
                when readings.reading_value > ranges.normal_max then 1
                else 0
            end
        ) as out_of_range_readings,
        min(readings.battery_pct) as min_battery_pct,
        max(readings.ingested_at) as newest_arrival
    from {{ readings }} as readings
    left join {{ ranges }} as ranges
        on readings.metric = ranges.metric
    group by
        readings.device_id,
        readings.site,
        readings.metric,
        readings.unit,
        {{ dbt.date_trunc('hour', 'readings.event_time') }}
{% endmacro %}

{% macro api_latency_minutely_of(requests) %}
    select
        service,
        endpoint,
        method,
        {{ dbt.date_trunc('minute', 'event_time') }} as request_minute,
        count(*) as requests,
        sum(case when status >= 500 then 1 else 0 end) as server_errors,
        sum(case when status >= 400 and status < 500 then 1 else 0 end) as client_errors,
        cast(
            sum(case when status >= 500 then 1 else 0 end) * 1.0 / count(*)
            as decimal(5, 4)
        ) as server_error_rate,
        {{ approx_percentile('latency_ms', 0.5) }} as latency_p50_ms,
        {{ approx_percentile('latency_ms', 0.95) }} as latency_p95_ms,
        {{ approx_percentile('latency_ms', 0.99) }} as latency_p99_ms,
        max(latency_ms) as latency_max_ms,
        max(ingested_at) as newest_arrival
    from {{ requests }} as requests
    group by
        service,
        endpoint,
        method,
        {{ dbt.date_trunc('minute', 'event_time') }}
{% endmacro %}

{#- purchases: the purchases a payment may be for (gold's fct_purchases in the mart) -#}
{% macro account_daily_of(transactions, purchases) %}
    select
        transactions.account_id,
        transactions.event_date,
        transactions.currency,
        count(*) as transaction_count,
        sum(transactions.amount) as amount_total,
        max(transactions.amount) as largest_amount,
        sum(case when transactions.amount >= {{ var('large_transfer_min_amount') }} then 1 else 0 end)
            as large_transfers,
        sum(case when purchases.event_id is not null then 1 else 0 end) as purchase_payments,
        sum(case when transactions.amount >= {{ var('large_transfer_min_amount') }} then 1 else 0 end) > 0
            as has_large_transfer,
        max(transactions.ingested_at) as newest_arrival
    from {{ transactions }} as transactions
    left join {{ purchases }} as purchases
        on transactions.purchase_id = purchases.event_id
    group by
        transactions.account_id,
        transactions.event_date,
        transactions.currency
{% endmacro %}
