{#- gold.agg_api_latency_minutely with every (endpoint, minute) that silver received requests
    for after it recomputed from all of that minute's requests: percentiles do not add up -#}
with batch as (

    select * from {{ ref('agg_api_latency_minutely') }}

),

watermark as (

    {{ serving_watermark('batch') }}

),

requests as (

    select
        *,
        {{ dbt.date_trunc('minute', 'event_time') }} as request_minute
    from {{ ref('stg_api_logs') }}

),

touched as (

    select distinct
        requests.service,
        requests.endpoint,
        requests.method,
        requests.request_minute
    from requests
    cross join watermark
    where requests.ingested_at > watermark.newest_arrival

),

touched_requests as (

    select requests.*
    from requests
    where exists (
        select 1 from touched
        where
            touched.service = requests.service
            and touched.endpoint = requests.endpoint
            and touched.method = requests.method
            and touched.request_minute = requests.request_minute
    )

),

recomputed as (

    {{ api_latency_minutely_of('touched_requests') }}

),

kept as (

    select batch.*
    from batch
    where not exists (
        select 1 from touched
        where
            touched.service = batch.service
            and touched.endpoint = batch.endpoint
            and touched.method = batch.method
            and touched.request_minute = batch.request_minute
    )

),

final as (

    select
        service,
        endpoint,
        method,
        request_minute,
        requests,
        server_errors,
        client_errors,
        server_error_rate,
        latency_p50_ms,
        latency_p95_ms,
        latency_p99_ms,
        latency_max_ms,
        newest_arrival
    from kept
    union all
    select
        service,
        endpoint,
        method,
        request_minute,
        requests,
        server_errors,
        client_errors,
        server_error_rate,
        latency_p50_ms,
        latency_p95_ms,
        latency_p99_ms,
        latency_max_ms,
        newest_arrival
    from recomputed

)

select * from final
