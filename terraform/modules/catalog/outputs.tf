output "database_names" {
  description = "Glue database name of each layer."
  value       = { for layer, database in aws_glue_catalog_database.layer : layer => database.name }
}
