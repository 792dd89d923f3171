-- No amount or count in gold is negative (or missing) anywhere it is summed.
with checks as (

    select
        'fct_purchases' as mart,
        event_id as row_key,
        total_amount as total
    from {{ ref('fct_purchases') }}

    union all

    select
        'dim_customers' as mart,
        customer_id as row_key,
        lifetime_value_eur as total
    from {{ ref('dim_customers') }}

    union all

    select
        'agg_daily_sales' as mart,
        {{ dbt.concat(["cast(event_date as " ~ dbt.type_string() ~ ")", "'/'", "category", "'/'", "currency"]) }}
            as row_key,
        revenue as total
    from {{ ref('agg_daily_sales') }}

    union all

    select
        'agg_city_performance' as mart,
        {{ dbt.concat(["city", "'/'", "currency"]) }} as row_key,
        least(revenue, premium_revenue, standard_revenue) as total
    from {{ ref('agg_city_performance') }}

    union all

    select
        'agg_customer_value' as mart,
        cast(value_decile as {{ dbt.type_string() }}) as row_key,
        least(lifetime_value_eur, min_lifetime_value_eur) as total
    from {{ ref('agg_customer_value') }}

)

select * from checks
where total is null or total < 0
