-- Share of purchases the anomaly model flags, by payment method and by city.
with purchases as (

    select * from {{ ref('fct_purchases') }}

),

anomalies as (

    select * from {{ source('gold', 'purchase_anomalies') }}

),

scored as (

    select
        purchases.payment_method,
        purchases.city,
        anomalies.is_anomaly
    from purchases
    inner join anomalies
        on purchases.event_id = anomalies.event_id

),

by_dimension as (

    select
        'payment_method' as dimension,
        payment_method as dimension_value,
        count(*) as purchases,
        sum(case when is_anomaly then 1 else 0 end) as anomalies
    from scored
    group by payment_method

    union all

    select
        'city' as dimension,
        city as dimension_value,
        count(*) as purchases,
        sum(case when is_anomaly then 1 else 0 end) as anomalies
    from scored
    group by city

),

final as (

    select
        dimension,
        dimension_value,
        purchases,
        anomalies,
        cast(100.0 * anomalies / purchases as decimal(5, 2)) as anomaly_rate_pct
    from by_dimension

)

select * from final
order by
    dimension desc,
    anomaly_rate_pct desc,
    purchases desc,
    dimension_value asc
