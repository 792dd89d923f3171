{{ daily_sales_of(ref('fct_purchases')) }}
