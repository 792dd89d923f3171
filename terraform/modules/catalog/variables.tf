variable "database_locations" {
  description = "Database name (the layer: bronze, silver, gold, serving) -> its default location for new tables (s3://bucket/)."
  type        = map(string)
}
