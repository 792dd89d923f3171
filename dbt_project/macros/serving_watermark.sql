{#- Where a mart's batch view ends: the newest silver arrival it holds (an empty mart holds
    none, so the speed view is all of silver). -#}
{% macro serving_watermark(batch) -%}
    select coalesce(max(newest_arrival), timestamp '1970-01-01 00:00:00') as newest_arrival
    from {{ batch }}
{%- endmacro %}
