with requests as (

    select
        *,
        {{ dbt.date_trunc('minute', 'event_time') }} as request_minute
    from {{ ref('stg_api_logs') }}

),

final as (

    select
        service,
        endpoint,
        method,
        request_minute,
        count(*) as requests,
        sum(case when status >= 500 then 1 else 0 end) as server_errors,
        sum(case when status >= 400 and status < 500 then 1 else 0 end) as client_errors,
        cast(
            sum(case when status >= 500 then 1 else 0 end) * 1.0 / count(*)
            as decimal(5, 4)
        ) as server_error_rate,
        {{ approx_percentile('latency_ms', 0.5) }} as latency_p50_ms,
        {{ approx_percentile('latency_ms', 0.95) }} as latency_p95_ms,
        {{ approx_percentile('latency_ms', 0.99) }} as latency_p99_ms,
        max(latency_ms) as latency_max_ms
    from requests
    group by
        service,
        endpoint,
        method,
        request_minute

)

select * from final
