with purchases as (

    select * from {{ ref('fct_purchases') }}

),

product_totals as (

    select
        product_id,
        count(*) as orders,
        sum(quantity) as units_sold,
        min(event_time) as first_sold_at,
        max(event_time) as last_sold_at
    from purchases
    group by product_id

),

latest_sale as (

    select
        product_id,
        product_name,
        category,
        row_number() over (
            partition by product_id
            order by event_time desc, event_id desc
        ) as recency_rank
    from purchases

),

final as (

    select
        product_totals.product_id,
        latest_sale.product_name,
        latest_sale.category,
        product_totals.orders,
        product_totals.units_sold,
        product_totals.first_sold_at,
        product_totals.last_sold_at
    from product_totals
    inner join latest_sale
        on product_totals.product_id = latest_sale.product_id
    where latest_sale.recency_rank = 1

)

select * from final
