with purchases as (

    select * from {{ ref('fct_purchases') }}

),

city_totals as (

    select
        country,
        city,
        currency,
        count(*) as orders,
        sum(case when is_premium then 1 else 0 end) as premium_orders,
        sum(total_amount) as revenue,
        sum(case when is_premium then total_amount else 0 end) as premium_revenue,
        sum(case when is_premium then 0 else total_amount end) as standard_revenue
    from purchases
    group by
        country,
        city,
        currency

),

final as (

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
        cast(100 * premium_revenue / revenue as decimal(5, 2)) as premium_share_pct
    from city_totals

)

select * from final
