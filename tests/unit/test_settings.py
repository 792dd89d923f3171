import re
import tomllib
from pathlib import Path

import pytest

from lakehouse.catalog import pyiceberg_properties, spark_catalog_conf
from lakehouse.kafka_clients import java_client_options, python_client_options
from lakehouse.settings import PROJECT_ROOT, Settings
from lakehouse.spark import spark_conf
from ops.dbt_runner import dbt_env


def test_every_path_derives_from_home(tmp_path: Path):
    s = Settings(home=tmp_path, topic="t1")
    for path in (s.catalog_db, s.warehouse, s.bronze_dir, s.checkpoint_dir("silver"),
                 s.broker_dir, s.ground_truth_path, s.models_dir, s.reports_dir):
        assert tmp_path in path.parents
    assert s.checkpoint_dir("bronze") != s.checkpoint_dir("silver")


def test_environment_overrides(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.setenv("LAKEHOUSE_HOME", str(tmp_path))
    monkeypatch.setenv("LAKEHOUSE_KAFKA_BOOTSTRAP", "127.0.0.1:19092")
    s = Settings()
    assert s.home == tmp_path and s.kafka_port == 19092


def test_spark_and_pyiceberg_share_one_catalog(tmp_path: Path):
    s = Settings(home=tmp_path, jars_dir=PROJECT_ROOT / ".jars")
    spark = spark_catalog_conf(s)
    prefix = f"spark.sql.catalog.{s.catalog_name}"
    assert spark[f"{prefix}.uri"] == f"jdbc:sqlite:{s.catalog_db}"
    assert spark[f"{prefix}.jdbc.schema-version"] == "V1"
    assert spark[f"{prefix}.warehouse"] == pyiceberg_properties(s)["warehouse"]
    assert str(s.catalog_db) in pyiceberg_properties(s)["uri"]


def test_missing_jars_give_a_clear_error(tmp_path: Path):
    with pytest.raises(FileNotFoundError, match="make setup"):
        spark_conf(Settings(home=tmp_path, jars_dir=tmp_path / "nothing"))


AWS_LOCATIONS = {"bronze_s3": "s3://acme-bronze/", "silver_s3": "s3://acme-silver/",
                 "gold_s3": "s3://acme-gold/", "athena_results_s3": "s3://acme-results/",
                 "checkpoints_s3": "s3://acme-artifacts/checkpoints"}


def test_aws_profile_puts_spark_and_pyiceberg_on_one_glue_catalog_over_s3(tmp_path: Path):
    s = Settings(home=tmp_path, profile="aws", aws_region="us-east-2", topic="t1", **AWS_LOCATIONS)
    spark = spark_catalog_conf(s)
    prefix = f"spark.sql.catalog.{s.catalog_name}"
    assert spark[f"{prefix}.type"] == "glue"
    assert spark[f"{prefix}.io-impl"] == "org.apache.iceberg.aws.s3.S3FileIO"
    assert spark[f"{prefix}.client.region"] == "us-east-2"
    assert not any(key.endswith(".uri") or "endpoint" in key for key in spark)
    pyiceberg = pyiceberg_properties(s)
    assert pyiceberg["type"] == "glue" and pyiceberg["glue.region"] == "us-east-2"
    assert spark[f"{prefix}.warehouse"] == pyiceberg["warehouse"] == "s3://acme-silver/"
    assert s.bronze_location == "s3://acme-bronze/t1"
    assert s.checkpoint_location("silver") == "s3://acme-artifacts/checkpoints/silver-t1"
    assert dbt_env(s)["LAKEHOUSE_GOLD_S3"] == "s3://acme-gold/"
    assert dbt_env(s)["LAKEHOUSE_AWS_REGION"] == "us-east-2"


def test_an_emulator_endpoint_reaches_both_clients(tmp_path: Path):
    s = Settings(home=tmp_path, profile="aws", aws_endpoint_url="http://127.0.0.1:5000",
                 **AWS_LOCATIONS)
    prefix = f"spark.sql.catalog.{s.catalog_name}"
    spark = spark_catalog_conf(s)
    for properties, key_prefix in ((spark, f"{prefix}."), (pyiceberg_properties(s), "")):
        assert properties[f"{key_prefix}s3.endpoint"] == "http://127.0.0.1:5000"
        assert properties[f"{key_prefix}glue.endpoint"] == "http://127.0.0.1:5000"
    assert spark[f"{prefix}.s3.path-style-access"] == "true"


def test_aws_profile_without_its_buckets_names_the_missing_variables(tmp_path: Path):
    with pytest.raises(ValueError, match="LAKEHOUSE_GOLD_S3.*Terraform outputs"):
        Settings(home=tmp_path, profile="aws", **(AWS_LOCATIONS | {"gold_s3": None}))


def test_kafka_authentication_is_the_same_for_spark_and_kafka_python(tmp_path: Path):
    assert java_client_options(Settings(home=tmp_path)) == {}
    msk = Settings(home=tmp_path, kafka_security="msk-iam")
    assert java_client_options(msk)["sasl.mechanism"] == "AWS_MSK_IAM"
    assert python_client_options(msk)["sasl_mechanism"] == "AWS_MSK_IAM"
    assert java_client_options(msk)["security.protocol"] == (
        python_client_options(msk)["security_protocol"])


def test_pyspark_pin_matches_the_spark_jars_in_the_pom():
    pom = (PROJECT_ROOT / "jvm" / "pom.xml").read_text()
    spark_version = re.search(r"<spark.version>([^<]+)<", pom).group(1)
    deps = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert f"pyspark=={spark_version}" in deps
    lock = (PROJECT_ROOT / "requirements.lock").read_text()
    assert f"pyspark=={spark_version}\n" in lock


def test_batch_metrics_takes_the_largest_kafka_lag():
    from spark_jobs.streaming import batch_metrics

    progress = {"name": "silver-t", "batchId": 3, "numInputRows": 120, "batchDuration": 1500,
                "durationMs": {"walCommit": 42, "addBatch": 1210, "triggerExecution": 1500},
                "sources": [{"metrics": {"maxOffsetsBehindLatest": "40"}},
                            {"metrics": {"maxOffsetsBehindLatest": "7"}}]}
    metrics = batch_metrics(progress)
    assert metrics["kafka_lag"] == 40 and metrics["batch_seconds"] == 1.5
    assert metrics["input_rows"] == 120 and metrics["query"] == "silver-t"
    assert metrics["phase_seconds"] == {"addBatch": 1.21, "triggerExecution": 1.5, "walCommit": 0.042}


def test_a_bad_setting_ends_a_command_with_one_line(monkeypatch: pytest.MonkeyPatch):
    from lakehouse.settings import load_settings

    monkeypatch.setenv("LAKEHOUSE_TOPIC_PARTITIONS", "two")
    with pytest.raises(SystemExit, match=r"^invalid settings: LAKEHOUSE_TOPIC_PARTITIONS: .*integer"):
        load_settings()


def test_spark_maps_the_class_archive_only_when_it_exists_and_sharing_is_on(tmp_path: Path):
    jars = tmp_path / "jars"
    (jars / "spark").mkdir(parents=True)
    (jars / "spark" / "iceberg.jar").touch()
    settings = Settings(home=tmp_path / "home", jars_dir=jars)

    def java_options(s: Settings) -> str:
        return spark_conf(s)["spark.driver.extraJavaOptions"]

    assert "SharedArchiveFile" not in java_options(settings)  # not built yet
    (jars / "spark-classes.jsa").touch()
    assert f"-XX:SharedArchiveFile={jars / 'spark-classes.jsa'}" in java_options(settings)
    off = settings.model_copy(update={"spark_class_sharing": False})
    assert "SharedArchiveFile" not in java_options(off)


def test_dbt_runs_on_the_jobs_spark_conf_and_the_settings_athena_defaults(tmp_path: Path):
    import json

    s = Settings(home=tmp_path, jars_dir=PROJECT_ROOT / ".jars")
    env = dbt_env(s)
    assert json.loads(env["LAKEHOUSE_DBT_SPARK_CONF"]) == spark_conf(s)
    assert env["LAKEHOUSE_AWS_REGION"] == s.aws_region
    assert env["LAKEHOUSE_ATHENA_WORKGROUP"] == s.athena_workgroup
    # unset buckets are left to the profile's placeholders (the athena target compiles offline)
    assert "LAKEHOUSE_GOLD_S3" not in env
