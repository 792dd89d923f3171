"""Operating the lakehouse (floor 3): the `lakehouse` CLI, the demo, the local Kafka launcher,
Spark's class archive, dbt runs and analyses, and grading the detector on generated events.
It runs the stages and reads their tables; nothing below it imports it."""
