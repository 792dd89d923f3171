{#
    An approximate percentile (fraction 0..1) of a numeric column: Spark's percentile_approx,
    Athena's (Trino's) approx_percentile. One dispatched macro, so the models stay one text.
#}
{% macro approx_percentile(column, fraction) %}
    {{ return(adapter.dispatch('approx_percentile')(column, fraction)) }}
{% endmacro %}

{% macro default__approx_percentile(column, fraction) -%}
    percentile_approx({{ column }}, {{ fraction }})
{%- endmacro %}

{% macro athena__approx_percentile(column, fraction) -%}
    approx_percentile({{ column }}, {{ fraction }})
{%- endmacro %}
