"""The dashboard's Athena path (dashboard/sources.py, the aws profile) against moto's Athena:
what is sent (the Trino rendering, in the settings' workgroup) and how the rows come back. Athena
itself cannot run here; the renderings' meaning is checked in tests/unit/test_dashboard_queries.py."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import boto3
import pytest
from moto import mock_aws
from moto.athena.models import QueryResults, athena_backends
from moto.core import DEFAULT_ACCOUNT_ID

from dashboard import queries
from dashboard.sources import AthenaSource, athena_unavailable, source_for
from lakehouse.settings import Settings

pytestmark = pytest.mark.integration

REGION = "eu-west-1"
SETTINGS = Settings(profile="aws", aws_region=REGION, bronze_s3="s3://b/", silver_s3="s3://s/",
                    gold_s3="s3://g/", athena_results_s3="s3://athena-results/",
                    checkpoints_s3="s3://c/")


@pytest.fixture
def athena(monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": REGION}.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        boto3.client("athena", region_name=REGION).create_work_group(
            Name=SETTINGS.athena_workgroup,
            Configuration={"ResultConfiguration": {"OutputLocation": SETTINGS.athena_results_s3}})
        yield athena_backends[DEFAULT_ACCOUNT_ID][REGION]


def column(name: str, kind: str) -> dict:
    return {"CatalogName": "awsdatacatalog", "SchemaName": "", "TableName": "", "Name": name,
            "Label": name, "Type": kind, "Precision": 38, "Scale": 2, "Nullable": "UNKNOWN",
            "CaseSensitive": False}


def test_the_aws_profile_sends_the_trino_rendering_to_its_workgroup_and_reads_the_rows(athena):
    names = ["currency", "revenue", "orders", "average_order_value"]
    athena.query_results_queue.append(QueryResults(
        rows=[{"Data": [{"VarCharValue": v} for v in row]}
              for row in (names, ["EUR", "130.00", "3", "43.33"], ["GBP", "100.00", "2", "50.00"])],
        column_info=[column("currency", "varchar"), column("revenue", "decimal"),
                     column("orders", "bigint"), column("average_order_value", "double")]))
    source = source_for(SETTINGS)
    assert isinstance(source, AthenaSource)
    frame = source.run("sales_kpis")
    assert list(frame.columns) == names
    assert frame.to_dict("records") == [
        {"currency": "EUR", "revenue": Decimal("130.00"), "orders": 3, "average_order_value": 43.33},
        {"currency": "GBP", "revenue": Decimal("100.00"), "orders": 2, "average_order_value": 50.0}]
    (execution,) = athena.executions.values()
    assert execution.query == queries.render("sales_kpis", queries.ATHENA_DIALECT)
    assert execution.workgroup.name == SETTINGS.athena_workgroup


def test_athenas_missing_table_is_named_and_other_failures_say_unreadable():
    missing = athena_unavailable("sales_kpis", "TABLE_NOT_FOUND: line 5:6: Table "
                                 "'awsdatacatalog.gold.fct_purchases' does not exist")
    assert (missing.table, missing.missing) == ("gold.fct_purchases", True)
    other = athena_unavailable("flagged_purchases", "ACCESS_DENIED: no s3:GetObject")
    assert not other.missing
    assert other.table == "gold.fct_purchases, gold.purchase_anomalies"
