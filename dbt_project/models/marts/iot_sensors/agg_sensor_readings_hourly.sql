with readings as (

    select * from {{ ref('stg_iot_sensors') }}

),

ranges as (

    select * from {{ ref('sensor_normal_ranges') }}

),

checked as (

    select
        readings.device_id,
        readings.site,
        readings.metric,
        readings.unit,
        readings.reading_value,
        readings.battery_pct,
        {{ dbt.date_trunc('hour', 'readings.event_time') }} as reading_hour,
        case
            when readings.reading_value < ranges.normal_min then 1
            when readings.reading_value > ranges.normal_max then 1
            else 0
        end as is_out_of_range
    from readings
    left join ranges
        on readings.metric = ranges.metric

),

final as (

    select
        device_id,
        site,
        metric,
        unit,
        reading_hour,
        count(*) as readings,
        min(reading_value) as min_value,
        max(reading_value) as max_value,
        cast(avg(reading_value) as decimal(12, 2)) as avg_value,
        sum(is_out_of_range) as out_of_range_readings,
        min(battery_pct) as min_battery_pct
    from checked
    group by
        device_id,
        site,
        metric,
        unit,
        reading_hour

)

select * from final
