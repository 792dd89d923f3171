{{ api_latency_minutely_of(ref('stg_api_logs')) }}
