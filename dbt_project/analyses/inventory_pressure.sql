-- Units sold per product per day against the product's average over the 7 days before
-- (days without sales count as zero): a ratio well above 1 means stock runs down faster than usual.
with purchases as (

    select * from {{ ref('fct_purchases') }}

),

daily_units as (

    select
        product_id,
        product_name,
        category,
        event_date,
        sum(quantity) as units_sold
    from purchases
    group by
        product_id,
        product_name,
        category,
        event_date

),

prior_week as (

    select
        today.product_id,
        today.event_date,
        sum(earlier.units_sold) as units_sold_prior_7d
    from daily_units as today
    inner join daily_units as earlier
        on
            today.product_id = earlier.product_id
            and {{ dbt.datediff('earlier.event_date', 'today.event_date', 'day') }} between 1 and 7
    group by
        today.product_id,
        today.event_date

),

final as (

    select
        daily_units.event_date,
        daily_units.product_id,
        daily_units.product_name,
        daily_units.category,
        daily_units.units_sold,
        cast(prior_week.units_sold_prior_7d / 7.0 as decimal(10, 2)) as trailing_7d_avg_units,
        cast(
            daily_units.units_sold / (prior_week.units_sold_prior_7d / 7.0)
            as decimal(10, 2)
        ) as pressure_ratio
    from daily_units
    inner join prior_week
        on
            daily_units.product_id = prior_week.product_id
            and daily_units.event_date = prior_week.event_date

)

select * from final
order by
    pressure_ratio desc,
    units_sold desc,
    event_date desc,
    product_id asc
