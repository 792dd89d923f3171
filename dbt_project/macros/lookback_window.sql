{#
    The incremental filter of fct_purchases: keep the source rows whose event time or arrival
    time lies within `lookback_days` (a project var) before the newest row {{ this }} holds.

    - The arrival window (silver's ingested_at) picks up every row silver wrote since the last
      run, however old its event_time: a late event lands in gold on the next run.
    - The event-time window re-merges the last days of events, which the merge on event_id
      makes idempotent.

    The bounds are read from the target first and written into the SQL as literals, so both
    Spark and Athena prune silver's days(event_time) partitions and skip files by their
    ingested_at column statistics (a subquery would make both engines scan all of silver).
    An empty target, or one that predates either column, keeps every row (the merge then
    fills the columns on_schema_change adds).
#}
{% macro lookback_window(event_time_column='event_time', arrival_column='ingested_at') %}
    {%- set present = adapter.get_columns_in_relation(this) | map(attribute='name') | map('lower') | list -%}
    {%- if event_time_column not in present or arrival_column not in present -%}
        {{ return('1 = 1') }}
    {%- endif -%}
    {%- set bounds_sql -%}
        select
            cast(max({{ event_time_column }}) as date) as event_day,
            cast(max({{ arrival_column }}) as date) as arrival_day
        from {{ this }}
    {%- endset -%}
    {%- set bounds = run_query(bounds_sql).rows[0] -%}
    {%- if bounds[0] is none or bounds[1] is none -%}
        1 = 1
    {%- else -%}
        {%- set lookback = modules.datetime.timedelta(days=var('lookback_days') | int) -%}
        {%- set event_start = modules.datetime.date.fromisoformat((bounds[0] | string)[:10]) - lookback -%}
        {%- set arrival_start = modules.datetime.date.fromisoformat((bounds[1] | string)[:10]) - lookback -%}
        (
            {{ event_time_column }} >= timestamp '{{ event_start }} 00:00:00'
            or {{ arrival_column }} >= timestamp '{{ arrival_start }} 00:00:00'
        )
    {%- endif -%}
{% endmacro %}
