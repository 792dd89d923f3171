with customers as (

    select * from {{ ref('int_customer_lifetime') }}

),

final as (

    select
        customer_id,
        customer_email_hash,
        home_country,
        home_city,
        is_member,
        first_purchase_at,
        last_purchase_at,
        orders,
        units,
        lifetime_value_eur,
        cast(lifetime_value_eur / orders as decimal(14, 2)) as average_order_value_eur,
        value_decile,
        value_decile = 1 as is_top_10_percent
    from customers

)

select * from final
