with mentions as (

    select * from {{ ref('stg_social_mentions') }}

),

products as (

    select * from {{ ref('dim_products') }}

),

daily as (

    select
        product_id,
        event_date,
        count(*) as mentions,
        count(distinct author_hash) as authors,
        cast(avg(sentiment) as decimal(5, 2)) as avg_sentiment,
        sum(case when sentiment > 0.2 then 1 else 0 end) as positive_mentions,
        sum(case when sentiment < -0.2 then 1 else 0 end) as negative_mentions
    from mentions
    group by
        product_id,
        event_date

),

final as (

    select
        daily.product_id,
        products.product_name,
        products.category,
        daily.event_date,
        daily.mentions,
        daily.authors,
        daily.avg_sentiment,
        daily.positive_mentions,
        daily.negative_mentions
    from daily
    left join products
        on daily.product_id = products.product_id

)

select * from final
