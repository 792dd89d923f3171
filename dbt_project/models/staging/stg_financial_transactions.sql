with source as (

    select * from {{ source('silver', 'financial_transactions') }}

),

renamed as (

    select
        ---------- ids
        event_id as transaction_id,
        account_id,
        purchase_id,

        ---------- strings
        counterparty,
        currency,
        channel,

        ---------- numerics
        amount,

        ---------- timestamps
        event_time,
        cast(event_time as date) as event_date,
        ingested_at

    from source

)

select * from renamed
