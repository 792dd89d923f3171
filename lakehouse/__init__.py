"""Shared pieces of the purchases lakehouse: settings, the event contract, catalog and Spark
access, and the local Kafka broker launcher."""
