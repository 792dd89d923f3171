{{ sensor_readings_hourly_of(ref('stg_iot_sensors'), ref('sensor_normal_ranges')) }}
