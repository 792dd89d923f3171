{#
    Incremental append of the purchases gold does not hold yet (macros/arrival_window.sql),
    one config for both adapters:
    - dbt-spark reads file_format (dbt_project.yml) and partition_by;
    - dbt-athena reads table_type (dbt_project.yml) and partitioned_by. A write that opens more
      than Athena's 100 partitions is retried in batches of partitions_limit (dbt-athena#87).
    A merge on event_id did the same job but read and rewrote gold's files on every run: 21 s
    on 1,000,000 gold rows even with nothing to merge (docs/benchmarks.md).
#}
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='append_new_columns',
        partition_by=['event_date'],
        partitioned_by=['event_date'],
        partitions_limit=100,
    )
}}

with purchases as (

    select * from {{ ref('stg_purchases') }} as arrivals
    {% if is_incremental() %}
        where {{ arrival_window('arrivals') }}
    {% endif %}

),

latest_arrival as (

    -- silver holds one row per event_id; should a re-send slip through, its last arrival wins
    select
        *,
        row_number() over (
            partition by event_id
            order by ingested_at desc, kafka_partition desc, kafka_offset desc
        ) as arrival_rank
    from purchases

),

final as (

    select
        event_id,
        event_time,
        event_date,
        customer_id,
        customer_email_hash,
        city,
        country,
        product_id,
        product_name,
        category,
        quantity,
        unit_price,
        total_amount,
        currency,
        payment_method,
        is_member,
        channel,
        coupon_code,
        {{ is_premium("total_amount") }} as is_premium,
        ingested_at
    from latest_arrival
    where arrival_rank = 1

)

select * from final
