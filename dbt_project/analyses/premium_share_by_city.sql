-- Each city's premium market share: the share of its revenue from orders of 500 or more.
with city_performance as (

    select * from {{ ref('agg_city_performance') }}

),

final as (

    select
        country,
        city,
        currency,
        orders,
        premium_orders,
        revenue,
        premium_revenue,
        premium_share_pct,
        rank() over (
            partition by currency
            order by premium_share_pct desc
        ) as premium_share_rank
    from city_performance

)

select * from final
order by
    premium_share_pct desc,
    revenue desc,
    city asc
