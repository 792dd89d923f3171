with clicks as (

    select * from {{ ref('stg_clickstream') }}

),

purchases as (

    select * from {{ ref('fct_purchases') }}

),

sessions as (

    select
        session_id,
        min(event_date) as event_date,
        max(category) as category,
        max(case when action = 'view' and product_id is not null then 1 else 0 end) as viewed_product,
        max(case when action = 'add_to_cart' then 1 else 0 end) as added_to_cart,
        max(case when action = 'checkout' then 1 else 0 end) as checked_out,
        max(purchase_id) as purchase_id
    from clicks
    group by session_id

),

final as (

    select
        sessions.event_date,
        sessions.category,
        count(*) as sessions,
        sum(sessions.viewed_product) as viewed_product,
        sum(sessions.added_to_cart) as added_to_cart,
        sum(sessions.checked_out) as checked_out,
        sum(case when purchases.event_id is not null then 1 else 0 end) as purchased,
        cast(
            sum(case when purchases.event_id is not null then 1 else 0 end) * 1.0 / count(*)
            as decimal(5, 4)
        ) as conversion_rate
    from sessions
    left join purchases
        on sessions.purchase_id = purchases.event_id
    where sessions.category is not null
    group by
        sessions.event_date,
        sessions.category

)

select * from final
