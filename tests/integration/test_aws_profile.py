"""The `aws` profile's storage and catalog code path, for real, against a local S3 + Glue
emulator (moto's server): the silver job writes Iceberg files to S3 through Iceberg's
GlueCatalog and S3FileIO, and pyiceberg's GlueCatalog reads the same rows back.

Kafka is the test broker (the profile's Kafka is any bootstrap address). The checkpoints stay on
local disk: Spark writes them through Hadoop's file systems (EMRFS on EMR), not Iceberg's
S3FileIO, so the emulator would add nothing there."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import boto3
import pyarrow.compute as pc
import pytest
from moto.server import ThreadedMotoServer

from lakehouse.catalog import iceberg_catalog
from lakehouse.settings import PROJECT_ROOT, QUARANTINE_TABLE, SILVER_NAMESPACE, SILVER_TABLE, Settings
from producer.events import GeneratorOptions, generate
from tests.integration.test_streaming_resilience import send

pytestmark = pytest.mark.integration

REGION = "eu-west-1"
# moto accepts any credentials; these keep the test away from a real account's.
FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                    "AWS_SESSION_TOKEN": "testing", "AWS_REGION": REGION,
                    "AWS_DEFAULT_REGION": REGION}


@pytest.fixture(scope="module")
def aws_endpoint() -> Iterator[str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture
def aws_settings(settings: Settings, aws_endpoint: str, tmp_path: Path,
                 monkeypatch: pytest.MonkeyPatch) -> Settings:
    """What Terraform creates, in the emulator: one bucket a layer and the Glue database `silver`
    located in the silver bucket; and the aws profile's settings pointing at them."""
    for name, value in FAKE_CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    prefix = f"lakehouse-{uuid.uuid4().hex[:8]}"
    buckets = {layer: f"{prefix}-{layer}" for layer in ("bronze", "silver", "gold", "athena-results")}
    s3 = boto3.client("s3", endpoint_url=aws_endpoint, region_name=REGION)
    for bucket in buckets.values():
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    glue = boto3.client("glue", endpoint_url=aws_endpoint, region_name=REGION)
    if SILVER_NAMESPACE not in {d["Name"] for d in glue.get_databases()["DatabaseList"]}:
        glue.create_database(DatabaseInput={"Name": SILVER_NAMESPACE})
    # The database of this test's own silver bucket (tests share the emulator and its catalog).
    glue.update_database(Name=SILVER_NAMESPACE, DatabaseInput={
        "Name": SILVER_NAMESPACE, "LocationUri": f"s3://{buckets['silver']}/"})
    for table in glue.get_tables(DatabaseName=SILVER_NAMESPACE)["TableList"]:
        glue.delete_table(DatabaseName=SILVER_NAMESPACE, Name=table["Name"])
    return Settings(
        profile="aws", home=settings.home, kafka_bootstrap=settings.kafka_bootstrap,
        topic=settings.topic, aws_region=REGION, aws_endpoint_url=aws_endpoint,
        bronze_s3=f"s3://{buckets['bronze']}/", silver_s3=f"s3://{buckets['silver']}/",
        gold_s3=f"s3://{buckets['gold']}/", athena_results_s3=f"s3://{buckets['athena-results']}/",
        checkpoints_s3=(tmp_path / "checkpoints").as_uri(),
    )


def environment(settings: Settings) -> dict[str, str]:
    """A subprocess's environment that makes it see exactly `settings` (and the fake account)."""
    return {**os.environ, **settings.environment(), **FAKE_CREDENTIALS}


def run_silver(settings: Settings) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "spark_jobs.silver", "--trigger", "available-now"],
        cwd=PROJECT_ROOT, env=environment(settings), capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stderr[-6000:]


def test_silver_writes_iceberg_to_s3_through_glue_and_pyiceberg_reads_it_back(aws_settings):
    messages = list(generate(GeneratorOptions(count=600, seed=23, malformed_share=0.05,
                                              duplicate_share=0.05)))
    valid = {m.event_id: json.loads(m.value) for m in messages if m.kind in ("valid", "anomaly")}
    malformed = Counter(m.label for m in messages if m.kind == "malformed")
    assert malformed and len(valid) < len(messages)
    send(aws_settings, messages)

    run_silver(aws_settings)
    run_silver(aws_settings)  # a rerun finds nothing new and adds nothing

    # pyiceberg through the Glue catalog, reading the files from S3
    catalog = iceberg_catalog(aws_settings)
    assert type(catalog).__name__ == "GlueCatalog"
    table = catalog.load_table(SILVER_TABLE)
    silver_bucket = aws_settings.silver_s3
    assert table.metadata_location.startswith(silver_bucket)
    assert table.location().startswith(silver_bucket)
    silver = table.scan().to_arrow()
    assert sorted(silver["event_id"].to_pylist()) == sorted(valid)
    assert pc.sum(silver["total_amount"]).as_py() == sum(
        Decimal(str(event["total_amount"])) for event in valid.values())
    quarantine = catalog.load_table(QUARANTINE_TABLE).scan().to_arrow()
    assert Counter(quarantine["reason"].to_pylist()) == malformed

    # the files are S3 objects in the silver bucket, and Glue knows the table as Iceberg
    s3 = boto3.client("s3", endpoint_url=aws_settings.aws_endpoint_url, region_name=REGION)
    bucket = silver_bucket.removeprefix("s3://").rstrip("/")
    keys = [o["Key"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
            for o in page.get("Contents", [])]
    data_files = {f.file.file_path for f in table.scan().plan_files()}
    assert data_files and {path.removeprefix(f"s3://{bucket}/") for path in data_files} <= set(keys)
    glue = boto3.client("glue", endpoint_url=aws_settings.aws_endpoint_url, region_name=REGION)
    parameters = glue.get_table(DatabaseName=SILVER_NAMESPACE, Name="purchases")["Table"]["Parameters"]
    assert parameters["table_type"].upper() == "ICEBERG"
    assert parameters["metadata_location"] == table.metadata_location

