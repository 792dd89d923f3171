"""Faker purchase-event producer for Kafka topic `purchases`."""
