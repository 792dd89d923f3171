"""The serving layer's alerts: rules over the serving views (dbt_project/models/serving/), run
every 10 minutes (orchestration's purchases_serving), their alerts kept in `serving.alerts`."""
