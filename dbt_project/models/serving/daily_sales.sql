{#- gold.agg_daily_sales merged with the purchases silver committed after it: sums add up -#}
with batch as (

    select * from {{ ref('agg_daily_sales') }}

),

watermark as (

    {{ serving_watermark('batch') }}

),

arrived as (

    select purchases.*
    from {{ ref('stg_purchases') }} as purchases
    cross join watermark
    where purchases.ingested_at > watermark.newest_arrival

),

speed as (

    {{ daily_sales_of('arrived') }}

),

both_views as (

    select
        event_date,
        category,
        currency,
        orders,
        units,
        revenue,
        newest_arrival
    from batch
    union all
    select
        event_date,
        category,
        currency,
        orders,
        units,
        revenue,
        newest_arrival
    from speed

),

final as (

    select
        event_date,
        category,
        currency,
        sum(orders) as orders,
        sum(units) as units,
        sum(revenue) as revenue,
        cast(sum(revenue) / sum(orders) as decimal(12, 2)) as average_order_value,
        max(newest_arrival) as newest_arrival
    from both_views
    group by
        event_date,
        category,
        currency

)

select * from final
