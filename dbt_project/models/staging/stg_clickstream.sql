with source as (

    select * from {{ source('silver', 'clickstream') }}

),

renamed as (

    select
        ---------- ids
        event_id as click_id,
        session_id,
        customer_id,
        product_id,
        purchase_id,

        ---------- strings
        page,
        action,
        category,

        ---------- timestamps
        event_time,
        cast(event_time as date) as event_date,
        ingested_at

    from source

)

select * from renamed
