-- Revenue per product category, with each category's share of its currency's revenue.
with daily_sales as (

    select * from {{ ref('agg_daily_sales') }}

),

category_totals as (

    select
        category,
        currency,
        sum(orders) as orders,
        sum(units) as units,
        sum(revenue) as revenue
    from daily_sales
    group by
        category,
        currency

),

final as (

    select
        currency,
        category,
        orders,
        units,
        revenue,
        cast(revenue / orders as decimal(12, 2)) as average_order_value,
        cast(
            100 * revenue / sum(revenue) over (partition by currency)
            as decimal(5, 2)
        ) as revenue_share_pct
    from category_totals

)

select * from final
order by
    currency asc,
    revenue desc
