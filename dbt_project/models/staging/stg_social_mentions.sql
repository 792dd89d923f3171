with source as (

    select * from {{ source('silver', 'social_mentions') }}

),

renamed as (

    select
        ---------- ids
        event_id as mention_id,
        product_id,

        ---------- strings
        platform,
        author_sha256 as author_hash,
        text as mention_text,

        ---------- numerics
        sentiment,

        ---------- timestamps
        event_time,
        cast(event_time as date) as event_date,
        ingested_at

    from source

)

select * from renamed
