with transactions as (

    select * from {{ ref('stg_financial_transactions') }}

),

purchases as (

    select * from {{ ref('fct_purchases') }}

),

final as (

    select
        transactions.account_id,
        transactions.event_date,
        transactions.currency,
        count(*) as transaction_count,
        sum(transactions.amount) as amount_total,
        max(transactions.amount) as largest_amount,
        sum(case when transactions.amount >= {{ var('large_transfer_min_amount') }} then 1 else 0 end)
            as large_transfers,
        sum(case when purchases.event_id is not null then 1 else 0 end) as purchase_payments,
        sum(case when transactions.amount >= {{ var('large_transfer_min_amount') }} then 1 else 0 end) > 0
            as has_large_transfer
    from transactions
    left join purchases
        on transactions.purchase_id = purchases.event_id
    group by
        transactions.account_id,
        transactions.event_date,
        transactions.currency

)

select * from final
