with purchases as (

    select * from {{ ref('fct_purchases') }}

),

currency_rates as (

    select * from {{ ref('currency_rates') }}

),

final as (

    select
        purchases.event_id,
        purchases.event_time,
        purchases.customer_id,
        purchases.customer_email_hash,
        purchases.country,
        purchases.city,
        purchases.is_member,
        purchases.quantity,
        purchases.currency,
        purchases.total_amount,
        -- each purchase rounded to cents, so sums of converted amounts add up exactly
        cast(purchases.total_amount * currency_rates.eur_per_unit as decimal(14, 2))
            as total_amount_eur
    from purchases
    inner join currency_rates
        on purchases.currency = currency_rates.currency

)

select * from final
