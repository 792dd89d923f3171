{#
    The incremental filter of fct_purchases, on `relation` (an alias of silver's rows): keep
    the rows gold does not hold yet.

    - Arrival window: the rows that arrived (silver's ingested_at) at most
      `arrival_overlap_hours` (a project var) before the newest arrival {{ this }} holds. Every
      row silver wrote since the last run is newer than that, however old its event_time: a
      late event lands in gold on the next run. The overlap covers a silver batch that was
      still writing while gold was built (its rows carry the batch's start time) and a clock
      that moved back a little.
    - Of those, the event_ids gold holds already are left out. Silver holds one row per
      event_id (its `unique` test runs before gold is built) and never changes it, so such a
      row is in gold as it is; the model appends only new rows, a rerun adds nothing, and no
      gold file is rewritten.

    The bound is read from the target first and written into the SQL as a literal, so Spark
    and Athena skip silver's files by their ingested_at column statistics (a subquery would
    make both engines scan all of silver). An empty target, or one that predates the column,
    keeps every row gold does not hold.
#}
{% macro arrival_window(relation, arrival_column='ingested_at', key='event_id') %}
    {%- set present = adapter.get_columns_in_relation(this) | map(attribute='name') | map('lower') | list -%}
    {%- set newest = run_query('select max(' ~ arrival_column ~ ') from ' ~ this).rows[0][0]
                     if arrival_column in present else none -%}
    {%- if newest is not none -%}
        {#- 'YYYY-MM-DD HH:MM:SS' whether the adapter gives a datetime or a string -#}
        {%- set newest = modules.datetime.datetime.strptime((newest | string)[:19].replace('T', ' '), '%Y-%m-%d %H:%M:%S') -%}
        {%- set start = newest - modules.datetime.timedelta(hours=var('arrival_overlap_hours') | float) -%}
        {{ relation }}.{{ arrival_column }} >= timestamp '{{ start.strftime('%Y-%m-%d %H:%M:%S') }}' and
    {% endif -%}
        not exists (
            select 1 from {{ this }} as held where held.{{ key }} = {{ relation }}.{{ key }}
        )
{%- endmacro %}
