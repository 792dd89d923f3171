with source as (

    select * from {{ source('silver', 'iot_sensors') }}

),

renamed as (

    select
        ---------- ids
        event_id as reading_id,
        device_id,

        ---------- strings
        site,
        metric,
        unit,

        ---------- numerics
        value as reading_value,
        battery as battery_pct,

        ---------- timestamps
        event_time,
        ingested_at

    from source

)

select * from renamed
