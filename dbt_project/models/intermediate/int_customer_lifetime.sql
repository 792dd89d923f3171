with purchases as (

    select * from {{ ref('int_purchases_in_eur') }}

),

customer_totals as (

    select
        customer_id,
        count(*) as orders,
        sum(quantity) as units,
        sum(total_amount_eur) as lifetime_value_eur,
        min(event_time) as first_purchase_at,
        max(event_time) as last_purchase_at
    from purchases
    group by customer_id

),

customer_places as (

    -- a customer's home is where they buy most often (purchases abroad are the exception)
    select
        customer_id,
        country,
        city,
        row_number() over (
            partition by customer_id
            order by count(*) desc, max(event_time) desc, country asc, city asc
        ) as place_rank
    from purchases
    group by
        customer_id,
        country,
        city

),

latest_purchase as (

    select
        customer_id,
        customer_email_hash,
        is_member,
        row_number() over (
            partition by customer_id
            order by event_time desc, event_id desc
        ) as recency_rank
    from purchases

),

final as (

    select
        customer_totals.customer_id,
        latest_purchase.customer_email_hash,
        customer_places.country as home_country,
        customer_places.city as home_city,
        latest_purchase.is_member,
        customer_totals.orders,
        customer_totals.units,
        customer_totals.lifetime_value_eur,
        customer_totals.first_purchase_at,
        customer_totals.last_purchase_at,
        ntile(10) over (
            order by customer_totals.lifetime_value_eur desc, customer_totals.customer_id asc
        ) as value_decile
    from customer_totals
    inner join customer_places
        on customer_totals.customer_id = customer_places.customer_id
    inner join latest_purchase
        on customer_totals.customer_id = latest_purchase.customer_id
    where
        customer_places.place_rank = 1
        and latest_purchase.recency_rank = 1

)

select * from final
