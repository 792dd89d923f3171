with source as (

    select * from {{ source('silver', 'api_logs') }}

),

renamed as (

    select
        ---------- ids
        event_id as request_id,

        ---------- strings
        service,
        endpoint,
        method,
        client_ip_sha256 as client_ip_hash,

        ---------- numerics
        status,
        latency_ms,

        ---------- timestamps
        event_time,
        ingested_at

    from source

)

select * from renamed
