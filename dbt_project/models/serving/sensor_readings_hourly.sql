{#- gold.agg_sensor_readings_hourly with every (device, metric, hour) that silver received
    readings for after it recomputed from all of that hour's readings: a mean or a minimum
    does not add up, a whole group taken again does -#}
with batch as (

    select * from {{ ref('agg_sensor_readings_hourly') }}

),

watermark as (

    {{ serving_watermark('batch') }}

),

readings as (

    select
        *,
        {{ dbt.date_trunc('hour', 'event_time') }} as reading_hour
    from {{ ref('stg_iot_sensors') }}

),

touched as (

    select distinct
        readings.device_id,
        readings.metric,
        readings.reading_hour
    from readings
    cross join watermark
    where readings.ingested_at > watermark.newest_arrival

),

touched_readings as (

    select readings.*
    from readings
    where exists (
        select 1 from touched
        where
            touched.device_id = readings.device_id
            and touched.metric = readings.metric
            and touched.reading_hour = readings.reading_hour
    )

),

recomputed as (

    {{ sensor_readings_hourly_of('touched_readings', ref('sensor_normal_ranges')) }}

),

kept as (

    select batch.*
    from batch
    where not exists (
        select 1 from touched
        where
            touched.device_id = batch.device_id
            and touched.metric = batch.metric
            and touched.reading_hour = batch.reading_hour
    )

),

final as (

    select
        device_id,
        site,
        metric,
        unit,
        reading_hour,
        readings,
        min_value,
        max_value,
        avg_value,
        out_of_range_readings,
        min_battery_pct,
        newest_arrival
    from kept
    union all
    select
        device_id,
        site,
        metric,
        unit,
        reading_hour,
        readings,
        min_value,
        max_value,
        avg_value,
        out_of_range_readings,
        min_battery_pct,
        newest_arrival
    from recomputed

)

select * from final
