{# Rows whose column lies outside [min_value, max_value]; bounds optional, inclusive by default;
   nulls are left to not_null. #}
{% test accepted_range(model, column_name, min_value=none, max_value=none, inclusive=true) %}

with checked as (

    select {{ column_name }} as value
    from {{ model }}

)

select *
from checked
where 1 = 0
{%- if min_value is not none %}
   or value {{ '<' if inclusive else '<=' }} {{ min_value }}
{%- endif %}
{%- if max_value is not none %}
   or value {{ '>' if inclusive else '>=' }} {{ max_value }}
{%- endif %}

{% endtest %}
