{#- gold.agg_city_performance merged with the purchases silver committed after it: the sums
    add up, the shares are taken again from them -#}
with batch as (

    select * from {{ ref('agg_city_performance') }}

),

watermark as (

    {{ serving_watermark('batch') }}

),

arrived as (

    select
        purchases.*,
        {{ is_premium('purchases.total_amount') }} as is_premium
    from {{ ref('stg_purchases') }} as purchases
    cross join watermark
    where purchases.ingested_at > watermark.newest_arrival

),

speed as (

    {{ city_totals_of('arrived') }}

),

both_views as (

    select
        country,
        city,
        currency,
        orders,
        premium_orders,
        revenue,
        premium_revenue,
        standard_revenue,
        newest_arrival
    from batch
    union all
    select
        country,
        city,
        currency,
        orders,
        premium_orders,
        revenue,
        premium_revenue,
        standard_revenue,
        newest_arrival
    from speed

),

totals as (

    select
        country,
        city,
        currency,
        sum(orders) as orders,
        sum(premium_orders) as premium_orders,
        sum(revenue) as revenue,
        sum(premium_revenue) as premium_revenue,
        sum(standard_revenue) as standard_revenue,
        max(newest_arrival) as newest_arrival
    from both_views
    group by
        country,
        city,
        currency

),

final as (

    {{ city_shares_of('totals') }}

)

select * from final
