# Glue Data Catalog databases, one per layer. Their names are the namespaces every job, dbt model
# and Athena query uses (silver.purchases, gold.fct_purchases), so they are not prefixed: one
# lakehouse per account and region. Tables are not declared here: the silver job (Iceberg's
# GlueCatalog), dbt-athena and the ML job (pyiceberg) create and evolve their own.

resource "aws_glue_catalog_database" "layer" {
  for_each = var.database_locations

  name         = each.key
  description  = "purchases lakehouse: ${each.key} layer"
  location_uri = each.value
}
