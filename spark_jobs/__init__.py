"""Spark Structured Streaming jobs: bronze (Kafka -> JSON lines) and silver (Kafka -> Iceberg)."""
