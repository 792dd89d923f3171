with purchases as (

    select * from {{ ref('fct_purchases') }}

),

final as (

    select
        event_date,
        category,
        currency,
        count(*) as orders,
        sum(quantity) as units,
        sum(total_amount) as revenue,
        cast(sum(total_amount) / count(*) as decimal(12, 2)) as average_order_value
    from purchases
    group by
        event_date,
        category,
        currency

)

select * from final
