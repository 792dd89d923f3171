"""The Spark session every job (and the dbt local target) runs in, configured from settings."""

from __future__ import annotations

from collections.abc import Sequence

from pyspark.sql import SparkSession

from lakehouse.settings import Settings


def spark_session(settings: Settings, app_name: str = "purchases-lakehouse",
                  java_options: Sequence[str] = ()) -> SparkSession:
    """The process's Spark session; `java_options` go to the driver's JVM after the settings'."""
    conf = settings.spark_conf()
    if java_options:
        conf["spark.driver.extraJavaOptions"] += " " + " ".join(java_options)
    builder = SparkSession.builder
    for key, value in conf.items():
        builder = builder.config(key, value)
    settings.home.mkdir(parents=True, exist_ok=True)
    spark = builder.appName(app_name).getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    return spark
