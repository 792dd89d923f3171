import re
import tomllib
from pathlib import Path

import pytest

from lakehouse.settings import PROJECT_ROOT, Settings


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
    spark = s.spark_catalog_conf()
    prefix = f"spark.sql.catalog.{s.catalog_name}"
    assert spark[f"{prefix}.uri"] == f"jdbc:sqlite:{s.catalog_db}"
    assert spark[f"{prefix}.jdbc.schema-version"] == "V1"
    assert spark[f"{prefix}.warehouse"] == s.pyiceberg_properties()["warehouse"]
    assert str(s.catalog_db) in s.pyiceberg_properties()["uri"]


def test_missing_jars_give_a_clear_error(tmp_path: Path):
    with pytest.raises(FileNotFoundError, match="make setup"):
        Settings(home=tmp_path, jars_dir=tmp_path / "nothing").spark_conf()


def test_aws_profile_is_refused_clearly_until_it_is_built(tmp_path: Path):
    with pytest.raises(NotImplementedError, match="aws"):
        Settings(home=tmp_path, profile="aws").pyiceberg_properties()


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
                "sources": [{"metrics": {"maxOffsetsBehindLatest": "40"}},
                            {"metrics": {"maxOffsetsBehindLatest": "7"}}]}
    metrics = batch_metrics(progress)
    assert metrics["kafka_lag"] == 40 and metrics["batch_seconds"] == 1.5
    assert metrics["input_rows"] == 120 and metrics["query"] == "silver-t"
