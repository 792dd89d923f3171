{{ city_shares_of('(' ~ city_totals_of(ref('fct_purchases')) ~ ')') }}
