"""The Spark session every job (and the dbt local target) runs in, configured from settings."""

from __future__ import annotations

from pyspark.sql import SparkSession

from lakehouse.settings import Settings


def spark_session(settings: Settings, app_name: str = "purchases-lakehouse") -> SparkSession:
    builder = SparkSession.builder
    for key, value in settings.spark_conf().items():
        builder = builder.config(key, value)
    settings.home.mkdir(parents=True, exist_ok=True)
    spark = builder.appName(app_name).getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    return spark
