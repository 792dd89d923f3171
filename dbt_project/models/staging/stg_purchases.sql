with source as (

    select * from {{ source('silver', 'purchases') }}

),

renamed as (

    select
        ---------- ids
        event_id,
        customer_id,
        product_id,

        ---------- strings
        customer_email_sha256 as customer_email_hash,
        city,
        country,
        product_name,
        category,
        currency,
        payment_method,
        channel,
        coupon_code,

        ---------- numerics
        quantity,
        unit_price,
        total_amount,
        schema_version,
        kafka_partition,
        kafka_offset,

        ---------- booleans
        is_member,

        ---------- timestamps
        event_time,
        cast(event_time as date) as event_date,
        ingested_at

    from source

)

select * from renamed
