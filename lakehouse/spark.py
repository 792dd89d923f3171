"""The Spark session every job (and the dbt local target) runs in: its conf, translated once
from the settings, and the helpers that keep a micro-batch's rows computed once."""

from __future__ import annotations

from collections.abc import Sequence

from pyspark.sql import DataFrame, SparkSession

from lakehouse.catalog import spark_catalog_conf
from lakehouse.settings import Settings

APP_NAME = "purchases-lakehouse"


def spark_conf(settings: Settings) -> dict[str, str]:
    """Every Spark conf the jobs and the dbt local target run with."""
    if not settings.spark_jars:
        raise FileNotFoundError(
            f"no Spark jars in {settings.jars_dir / 'spark'}: run `make setup` to resolve jvm/pom.xml"
        )
    return {
        "spark.master": settings.spark_master,
        "spark.app.name": APP_NAME,
        "spark.driver.memory": settings.spark_driver_memory,
        "spark.jars": ",".join(str(p) for p in settings.spark_jars),
        "spark.sql.extensions": (
            "org.apache.iceberg.spark.extensions.IcebergSparkSessionExtensions"
        ),
        # Stated, so a session dbt-spark opens (it asks for Hive) is the same as the jobs'.
        "spark.sql.catalogImplementation": "in-memory",
        "spark.sql.defaultCatalog": settings.catalog_name,
        "spark.sql.shuffle.partitions": str(settings.spark_shuffle_partitions),
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.warehouse.dir": (settings.home / "spark-warehouse").as_uri(),
        "spark.driver.extraJavaOptions": " ".join(java_options(settings)),
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        **spark_catalog_conf(settings),
    }


def java_options(settings: Settings) -> list[str]:
    """The driver JVM's options."""
    # Silver's classification compiles to one method of ~15 KB of bytecode; HotSpot leaves
    # methods over 8 KB to the interpreter unless told otherwise (docs/benchmarks.md, change 20).
    options = [f"-Dderby.system.home={settings.home / 'derby'}", "-XX:-DontCompileHugeMethods"]
    if settings.spark_class_sharing and settings.spark_class_archive.is_file():
        options.append(f"-XX:SharedArchiveFile={settings.spark_class_archive}")
    if settings.profile == "aws" and settings.aws_endpoint_url:
        # AWS SDK v2 (>= 2.30) adds checksums to every request by default; emulators such as
        # moto reject some of them, AWS itself does not need them.
        options += ["-Daws.requestChecksumCalculation=when_required",
                    "-Daws.responseChecksumValidation=when_required"]
    return options


def spark_session(settings: Settings, app_name: str = APP_NAME,
                  extra_java_options: Sequence[str] = ()) -> SparkSession:
    """The process's Spark session; `extra_java_options` go to the driver's JVM after the
    settings' (they can only take effect before the JVM starts)."""
    conf = spark_conf(settings)
    if extra_java_options:
        conf["spark.driver.extraJavaOptions"] += " " + " ".join(extra_java_options)
    builder = SparkSession.builder
    for key, value in conf.items():
        builder = builder.config(key, value)
    settings.home.mkdir(parents=True, exist_ok=True)
    spark = builder.appName(app_name).getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    return spark


def materialized(df: DataFrame) -> DataFrame:
    """`df`, computed once at its first action and kept (memory, then disk), behind a plan of
    one node. A persisted DataFrame keeps its whole plan, so every DataFrame built on it would
    carry that plan through analysis, the cache look-up and planning again (docs/benchmarks.md,
    change 15). Give it back with `release`."""
    return df.localCheckpoint(eager=False)


def release(df: DataFrame) -> None:
    """Drop the rows `materialized` kept now, instead of when the JVM's garbage collector finds
    them (every 30 minutes by default, while a stream keeps a batch every few seconds)."""
    df._jdf.queryExecution().logical().rdd().unpersist(False)


def quiet_release_warnings(spark: SparkSession) -> None:
    """Spark warns at every `release` that the rows cannot be recomputed afterwards, which is
    the point; keep that logger to errors."""
    jvm = spark.sparkContext._jvm
    jvm.org.apache.logging.log4j.core.config.Configurator.setLevel(
        "org.apache.spark.rdd.MapPartitionsRDD", jvm.org.apache.logging.log4j.Level.ERROR)
