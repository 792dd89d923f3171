{# Rows of the model whose combination of `combination_of_columns` is not unique (the grain). #}
{% test unique_combination_of_columns(model, combination_of_columns) %}

with grain as (

    select
        {{ combination_of_columns | join(',\n        ') }},
        count(*) as rows_per_key
    from {{ model }}
    group by {{ combination_of_columns | join(', ') }}

)

select *
from grain
where rows_per_key > 1

{% endtest %}
