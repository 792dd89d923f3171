{{
    config(
        partition_by=['event_date'],
        partitioned_by=['event_date'],
    )
}}

with purchases as (

    select * from {{ ref('stg_purchases') }}

),

final as (

    select
        event_id,
        event_time,
        event_date,
        customer_id,
        customer_email_hash,
        city,
        country,
        product_id,
        product_name,
        category,
        quantity,
        unit_price,
        total_amount,
        currency,
        payment_method,
        is_member,
        channel
    from purchases

)

select * from final
