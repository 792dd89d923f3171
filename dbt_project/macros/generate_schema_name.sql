{#- A model's `schema` config is the schema itself (`serving`), not dbt's default
    `<target schema>_<custom>`; models without one stay in the target's (`gold`). -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {{ custom_schema_name | trim if custom_schema_name is not none else target.schema }}
{%- endmacro %}
