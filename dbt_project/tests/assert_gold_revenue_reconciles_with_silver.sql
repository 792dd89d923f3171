-- Gold holds exactly silver's purchases and money, per currency, up to the last silver row gold
-- has seen (rows the stream wrote after the build wait for the next one).
with silver as (

    select * from {{ source('silver', 'purchases') }}

),

gold as (

    select * from {{ ref('fct_purchases') }}

),

gold_watermark as (

    select max(ingested_at) as ingested_at from gold

),

silver_totals as (

    select
        silver.currency,
        count(*) as purchases,
        sum(silver.total_amount) as revenue
    from silver
    cross join gold_watermark
    where silver.ingested_at <= gold_watermark.ingested_at
    group by silver.currency

),

gold_totals as (

    select
        currency,
        count(*) as purchases,
        sum(total_amount) as revenue
    from gold
    group by currency

),

final as (

    select
        coalesce(silver_totals.currency, gold_totals.currency) as currency,
        silver_totals.purchases as silver_purchases,
        gold_totals.purchases as gold_purchases,
        silver_totals.revenue as silver_revenue,
        gold_totals.revenue as gold_revenue
    from silver_totals
    full outer join gold_totals
        on silver_totals.currency = gold_totals.currency

)

select * from final
where
    not coalesce(silver_purchases = gold_purchases, false)
    or not coalesce(silver_revenue = gold_revenue, false)
