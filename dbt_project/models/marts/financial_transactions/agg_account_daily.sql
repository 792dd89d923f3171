{{ account_daily_of(ref('stg_financial_transactions'), ref('fct_purchases')) }}
