{#
    Groups where the model's totals differ from another model's: each measure is a pair
    [expression on the model, expression on compare_model], both aggregates, compared per
    value of the group_by columns (none: the grand totals). Returns the groups that differ or
    are missing on one side.
#}
{% test reconciles_with(model, compare_model, measures, group_by=[]) %}

with
{% for side, relation in [('actual', model), ('expected', compare_model)] %}
    {%- set side_index = loop.index0 %}
{{ side }} as (

    select
        {% for column in group_by -%}
            {{ column }},
        {% endfor -%}
        {% for measure in measures -%}
            {{ measure[side_index] }} as measure_{{ loop.index }}{{ ',' if not loop.last }}
        {% endfor %}
    from {{ relation }}
    {% if group_by %}group by {{ group_by | join(', ') }}{% endif %}

),
{% endfor %}

compared as (

    select
        {% for column in group_by -%}
            coalesce(actual.{{ column }}, expected.{{ column }}) as {{ column }},
        {% endfor -%}
        {% for measure in measures -%}
            actual.measure_{{ loop.index }} as actual_{{ loop.index }},
            expected.measure_{{ loop.index }} as expected_{{ loop.index }}{{ ',' if not loop.last }}
        {% endfor %}
    from actual
    full outer join expected
        on {% for column in group_by -%}
            actual.{{ column }} = expected.{{ column }}{{ ' and ' if not loop.last }}
        {%- else -%}
            1 = 1
        {%- endfor %}

)

select *
from compared
where
    {% for measure in measures -%}
        {{ 'or ' if not loop.first }}not (coalesce(actual_{{ loop.index }} = expected_{{ loop.index }}, false))
    {% endfor %}

{% endtest %}
