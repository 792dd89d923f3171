"""The foundation every stage stands on (floor 1): settings, the event contract, the
producer-detector ground-truth contract, the Iceberg catalog, the Spark session, Kafka access
and logs. It imports no stage."""
