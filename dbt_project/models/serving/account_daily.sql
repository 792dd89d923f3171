{#- gold.agg_account_daily with every (account, day, currency) that silver received
    transactions for after it recomputed from all of that day's transactions. Without
    purchase_payments: a batch row's count of it also moves when a purchase arrives later,
    which this view's watermark (the transactions') does not see. -#}
with batch as (

    select * from {{ ref('agg_account_daily') }}

),

watermark as (

    {{ serving_watermark('batch') }}

),

transactions as (

    select * from {{ ref('stg_financial_transactions') }}

),

touched as (

    select distinct
        transactions.account_id,
        transactions.event_date,
        transactions.currency
    from transactions
    cross join watermark
    where transactions.ingested_at > watermark.newest_arrival

),

touched_transactions as (

    select transactions.*
    from transactions
    where exists (
        select 1 from touched
        where
            touched.account_id = transactions.account_id
            and touched.event_date = transactions.event_date
            and touched.currency = transactions.currency
    )

),

recomputed as (

    {{ account_daily_of('touched_transactions', ref('stg_purchases')) }}

),

kept as (

    select batch.*
    from batch
    where not exists (
        select 1 from touched
        where
            touched.account_id = batch.account_id
            and touched.event_date = batch.event_date
            and touched.currency = batch.currency
    )

),

both_views as (

    select * from kept
    union all
    select * from recomputed

),

final as (

    select
        account_id,
        event_date,
        currency,
        transaction_count,
        amount_total,
        largest_amount,
        large_transfers,
        has_large_transfer,
        newest_arrival
    from both_views

)

select * from final
