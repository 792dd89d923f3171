with customers as (

    -- dim_customers holds int_customer_lifetime's rows as a table: reading it instead of the
    -- ephemeral model does not compute every customer's lifetime from gold a second time
    select * from {{ ref('dim_customers') }}

),

deciles as (

    select
        value_decile,
        count(*) as customers,
        sum(orders) as orders,
        sum(lifetime_value_eur) as lifetime_value_eur,
        min(lifetime_value_eur) as min_lifetime_value_eur,
        max(lifetime_value_eur) as max_lifetime_value_eur
    from customers
    group by value_decile

),

final as (

    select
        value_decile,
        value_decile = 1 as is_top_10_percent,
        customers,
        orders,
        lifetime_value_eur,
        cast(lifetime_value_eur / customers as decimal(14, 2)) as average_lifetime_value_eur,
        min_lifetime_value_eur,
        max_lifetime_value_eur,
        cast(100 * lifetime_value_eur / sum(lifetime_value_eur) over () as decimal(5, 2))
            as revenue_share_pct
    from deciles

)

select * from final
