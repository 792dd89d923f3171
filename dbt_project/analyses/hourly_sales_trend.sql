-- Sales per hour, with the average of the last 24 hours that had sales (the hour included).
with purchases as (

    select * from {{ ref('fct_purchases') }}

),

hourly as (

    select
        {{ dbt.date_trunc('hour', 'event_time') }} as sales_hour,
        currency,
        count(*) as orders,
        sum(quantity) as units,
        sum(total_amount) as revenue
    from purchases
    group by
        {{ dbt.date_trunc('hour', 'event_time') }},
        currency

),

final as (

    select
        sales_hour,
        currency,
        orders,
        units,
        revenue,
        cast(
            avg(orders) over (
                partition by currency
                order by sales_hour
                rows between 23 preceding and current row
            ) as decimal(10, 2)
        ) as orders_trailing_24h_avg,
        cast(
            avg(revenue) over (
                partition by currency
                order by sales_hour
                rows between 23 preceding and current row
            ) as decimal(14, 2)
        ) as revenue_trailing_24h_avg
    from hourly

)

select * from final
order by
    sales_hour desc,
    currency asc
