"""Apache Airflow's side of the project: DAGs (orchestration/dags) and what they share. It runs
in Airflow's own venv, so it imports only Airflow and the standard library; its tasks run the
project's commands (the CLIs README gives) from the project's venv."""
