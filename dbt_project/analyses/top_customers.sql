-- The top 10% of customers by lifetime value (in euros, across every currency they paid in).
with customers as (

    select * from {{ ref('dim_customers') }}

),

final as (

    select
        rank() over (order by lifetime_value_eur desc) as value_rank,
        customer_id,
        home_country,
        home_city,
        is_member,
        orders,
        lifetime_value_eur,
        average_order_value_eur,
        first_purchase_at,
        last_purchase_at
    from customers
    where is_top_10_percent

)

select * from final
order by
    value_rank asc,
    customer_id asc
