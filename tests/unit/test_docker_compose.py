"""The docker-compose stack, checked statically (no Docker engine needed): the file follows the
Compose Specification, its images are built from docker/Dockerfile on one Debian base and carry
the versions pinned in jvm/pom.xml and pyproject.toml, ports stay on loopback, and its jobs run
the same commands with the same settings as the local stack. tests/integration/test_docker_stack.py
runs it."""

from __future__ import annotations

import copy
import dataclasses
import json
import re
import shutil
import subprocess
import tomllib
import xml.etree.ElementTree as ET
from importlib.metadata import requires
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import pytest
import typer
import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

from lakehouse.settings import PROJECT_ROOT, Settings
from ops.local_kafka import server_properties
from tests.conftest import compose_cli, docker_answers

COMPOSE_FILE = PROJECT_ROOT / "docker-compose.yml"
DOCKERFILE = PROJECT_ROOT / "docker" / "Dockerfile"
COMPOSE_SCHEMA = Path(__file__).resolve().parent.parent / "data" / "compose-spec.json"
# The Python entry point each one-shot job runs (the commands README gives for the local stack).
JOB_COMMANDS = {
    "demo": ["lakehouse", "demo"],
    "producer": ["python", "-m", "producer"],
    "bronze": ["python", "-m", "spark_jobs.bronze"],
    "silver": ["python", "-m", "spark_jobs.silver"],
    "dbt": ["lakehouse", "dbt", "build"],
    "ml": ["python", "-m", "ml"],
    "books": ["lakehouse", "books"],
}
SPARK_CLUSTER = ("spark-master", "spark-worker-1", "spark-worker-2")
# Broker properties that differ by design: the compose broker listens on the compose network too.
NETWORK_PROPERTIES = {"listeners", "advertised.listeners", "listener.security.protocol.map",
                      "controller.quorum.voters", "log.dirs"}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text())


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return compose["services"]


@pytest.fixture(scope="module")
def pom() -> dict[str, str]:
    """The <properties> of jvm/pom.xml."""
    root = ET.parse(PROJECT_ROOT / "jvm" / "pom.xml").getroot()
    ns = {"m": "http://maven.apache.org/POM/4.0.0"}
    return {el.tag.split("}")[1]: (el.text or "").strip()
            for el in root.find("m:properties", ns)}


@pytest.fixture(scope="module")
def pyproject() -> dict[str, Any]:
    return tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())


def dockerfile_stages() -> dict[str, str]:
    """Stage name -> what it is built FROM (another stage, or ${BASE_IMAGE})."""
    stages = {}
    for line in DOCKERFILE.read_text().splitlines():
        match = re.match(r"FROM\s+(\S+)\s+AS\s+(\S+)\s*$", line, re.I)
        if match:
            stages[match.group(2)] = match.group(1)
    return stages


def base_image_default() -> str:
    (default,) = re.findall(r"^ARG BASE_IMAGE=(\S+)$", DOCKERFILE.read_text(), re.M)
    return default


def image_tag(image: str) -> str:
    name, _, tag = image.rpartition(":")
    assert name and "/" not in tag, f"{image} has no tag"
    return tag


def pinned_version(pyproject: dict[str, Any], package: str) -> str:
    for dependency in pyproject["project"]["dependencies"]:
        requirement = Requirement(dependency)
        if requirement.name == package:
            (spec,) = requirement.specifier
            assert spec.operator == "==", f"{package} is not pinned exactly in pyproject.toml"
            return spec.version
    raise AssertionError(f"{package} is not a dependency in pyproject.toml")


def jobs(services: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The one-shot services: those only `docker compose run` starts (they carry a profile)."""
    return {name: s for name, s in services.items() if s.get("profiles")}


# ---- (1) the Compose Specification

def test_compose_file_follows_the_compose_specification(compose: dict[str, Any]):
    schema = json.loads(COMPOSE_SCHEMA.read_text())
    jsonschema.Draft7Validator.check_schema(schema)
    jsonschema.Draft7Validator(schema).validate(compose)


@pytest.mark.parametrize("profile", [[], ["--profile", "jobs"]], ids=["up", "jobs"])
def test_docker_compose_itself_accepts_the_file(profile: list[str]):
    """Where Compose is installed (it needs no engine for this), its own parser has the last word."""
    cli = compose_cli()
    if cli is None:
        pytest.skip("no Docker Compose here; the schema test above still runs")
    result = subprocess.run([*cli, "-f", str(COMPOSE_FILE), *profile, "config", "--quiet"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def test_the_schema_rejects_what_compose_rejects(compose: dict[str, Any]):
    """The vendored schema really constrains services (it is no permissive stand-in)."""
    validator = jsonschema.Draft7Validator(json.loads(COMPOSE_SCHEMA.read_text()))
    broken = copy.deepcopy(compose)
    broken["services"]["kafka"]["helthcheck"] = broken["services"]["kafka"].pop("healthcheck")
    assert not validator.is_valid(broken)
    broken = copy.deepcopy(compose)
    broken["services"]["kafka"]["healthcheck"]["interval"] = ["10s"]
    assert not validator.is_valid(broken)


# ---- (2) images: built from the Dockerfile on one base, tagged with the pinned versions

def test_every_service_is_built_from_the_dockerfile_on_the_one_base(services):
    stages = dockerfile_stages()
    for name, service in services.items():
        build = service["build"]
        assert (PROJECT_ROOT / build["context"] / build["dockerfile"]).resolve() == DOCKERFILE, name
        assert build["target"] in stages, f"{name}: no stage {build['target']}"
        assert build["args"]["BASE_IMAGE"] == f"${{DOCKER_BASE:-{base_image_default()}}}", name
    # every stage goes back to ${BASE_IMAGE}: nothing else is pulled
    for stage in stages:
        parent = stage
        while parent in stages:
            parent = stages[parent]
        assert parent == "${BASE_IMAGE}", f"stage {stage} is built from {parent}"


def test_the_base_is_the_debian_release_docker_base_builds():
    name, _, tag = base_image_default().partition(":")
    release = tag.split("-")[0]
    assert name == "debian" and release == "bookworm"
    assert f"--variant=minbase {release} " in (PROJECT_ROOT / "docker" / "base.sh").read_text()
    makefile = (PROJECT_ROOT / "Makefile").read_text()
    assert re.search(rf"^DOCKER_BASE_LOCAL := \S+:{release}$", makefile, re.M)


def test_kafka_image_is_the_broker_version_of_the_pom(services, pom):
    kafka = services["kafka"]
    assert kafka["build"]["target"] == "kafka"
    assert image_tag(kafka["image"]) == pom["kafka.broker.version"]
    assert "-P kafka dependency:copy-dependencies" in DOCKERFILE.read_text()


def test_postgres_image_is_the_server_major_it_installs(services):
    major = image_tag(services["postgres"]["image"])
    assert f"/usr/lib/postgresql/{major}/bin" in DOCKERFILE.read_text()


def test_the_spark_cluster_runs_pysparks_spark_the_version_of_the_pom(services, pom, pyproject):
    assert pinned_version(pyproject, "pyspark") == pom["spark.version"]
    jobs_image = services["demo"]["image"]
    for name in SPARK_CLUSTER:
        assert services[name]["image"] == jobs_image, name
        assert services[name]["command"][:2][0] == "spark-class", name
    assert "org.apache.spark.deploy.master.Master" in services["spark-master"]["command"]
    for worker in SPARK_CLUSTER[1:]:
        assert "spark://spark-master:7077" in services[worker]["command"]
    assert services["demo"]["environment"]["LAKEHOUSE_SPARK_MASTER"] == "spark://spark-master:7077"


def test_jobs_image_runs_a_python_that_pyproject_accepts(pyproject):
    pythons = set(re.findall(r"\bpython(3\.\d+)\b", DOCKERFILE.read_text()))
    assert len(pythons) == 1, f"the Dockerfile names several Pythons: {pythons}"
    assert SpecifierSet(pyproject["project"]["requires-python"]).contains(f"{pythons.pop()}.0")


def test_the_project_images_carry_the_project_version(services, pyproject):
    version = pyproject["project"]["version"]
    for name, service in services.items():
        if service["build"]["target"] in {"jobs", "airflow"}:
            assert image_tag(service["image"]) == version, name


def test_every_job_runs_the_image_built_from_the_dockerfile(services):
    for name, service in jobs(services).items():
        assert service["build"]["target"] == "jobs", name
        assert service["image"] == jobs(services)["producer"]["image"], name


def test_the_image_installs_the_locked_packages_and_the_spark_jars_settings_reads():
    dockerfile = DOCKERFILE.read_text()
    assert "requirements.lock" in dockerfile
    assert "-P spark dependency:copy-dependencies" in dockerfile
    jars = Settings(home=Path("/lakehouse")).jars_dir.relative_to(PROJECT_ROOT) / "spark"
    assert re.search(rf"COPY --from=jars \S+ {re.escape(str(jars))}\n", dockerfile)


def test_the_lock_pins_pyicebergs_postgresql_driver():
    lock = dict(re.findall(r"^([a-z0-9_.-]+)==(\S+)$", (PROJECT_ROOT / "requirements.lock")
                           .read_text(), re.M))
    extra = [Requirement(r) for r in requires("pyiceberg") or []
             if 'extra == "sql-postgres"' in r]
    assert extra, "pyiceberg declares no sql-postgres extra"
    for wanted in extra:
        assert wanted.name in lock, f"{wanted.name} (the PostgreSQL catalog driver) is not locked"
        assert wanted.specifier.contains(lock[wanted.name]), f"{lock[wanted.name]} vs {wanted}"


# ---- (3) loopback ports, healthchecks, named volumes

def test_every_published_port_is_bound_to_loopback(services):
    published = [(name, port) for name, s in services.items() for port in s.get("ports", [])]
    assert published, "nothing is published: the host could not reach Kafka"
    for name, port in published:
        if isinstance(port, dict):
            assert port.get("host_ip") == "127.0.0.1", f"{name}: {port}"
        else:
            assert str(port).startswith("127.0.0.1:"), f"{name}: {port}"


def test_every_long_running_service_has_a_healthcheck(services):
    long_running = {name: s for name, s in services.items() if name not in jobs(services)}
    assert {"kafka", "postgres"} <= long_running.keys()
    for name, service in long_running.items():
        healthcheck = service.get("healthcheck", {})
        assert healthcheck.get("test") and not healthcheck.get("disable"), name
        assert service.get("restart") in {"unless-stopped", "always"}, name


def test_jobs_wait_for_healthy_services(services):
    for name, service in jobs(services).items():
        depends_on = service["depends_on"]
        assert {dep: d["condition"] for dep, d in depends_on.items()} == {
            "kafka": "service_healthy", "postgres": "service_healthy",
            "spark-worker-1": "service_healthy", "spark-worker-2": "service_healthy"}, name


def test_every_volume_is_named(compose, services):
    declared = set(compose.get("volumes") or {})
    mounts = [(name, v) for name, s in services.items() for v in s.get("volumes", [])]
    assert mounts
    for name, volume in mounts:
        if isinstance(volume, dict):
            assert volume["type"] == "volume", f"{name}: {volume}"
            source = volume["source"]
        else:
            source = volume.split(":")[0]
        assert source in declared, f"{name}: {volume} is not a named volume of the file"


# ---- the jobs do what the local stack does

def test_jobs_run_the_project_entry_points(services):
    commands = {name: s["command"][:len(JOB_COMMANDS.get(name, []))]
                for name, s in jobs(services).items()}
    for name, command in JOB_COMMANDS.items():
        assert commands.get(name) == command, name


def test_producer_job_produces_the_same_events_as_lakehouse_demo(services):
    from ops.cli import app as lakehouse_app
    from producer.cli import app as producer_app
    from producer.events import GeneratorOptions

    argv = services["producer"]["command"][len(JOB_COMMANDS["producer"]):]
    produced = typer.main.get_command(producer_app).make_context("producer", list(argv)).params
    demo_command = typer.main.get_command(lakehouse_app).commands["demo"]
    demo = demo_command.make_context("demo", []).params
    assert produced["resume"], "the producer job must only top the topic up, like the demo"
    assert produced["count"] == demo["events"]
    for option in ("seed", "anomaly_share", "malformed_share", "duplicate_share"):
        assert produced[option] == demo[option], option
    days = {f.name: f.default for f in dataclasses.fields(GeneratorOptions)}["days"]
    assert produced["days"] == days


def test_kafka_runs_the_local_brokers_configuration(services):
    environment = services["kafka"]["environment"]
    local = dict(line.split("=", 1) for line in
                 server_properties(Settings(), Path("/data")).splitlines())
    for key, value in local.items():
        if key not in NETWORK_PROPERTIES:
            assert environment.get(f"KAFKA_{key.upper().replace('.', '_')}") == value, key
    # Containers reach the broker at the bootstrap address the jobs are given.
    host, port = services["producer"]["environment"]["LAKEHOUSE_KAFKA_BOOTSTRAP"].split(":")
    assert host == "kafka" and f"PLAINTEXT://{host}:{port}" in environment["KAFKA_ADVERTISED_LISTENERS"]


def test_catalog_uri_points_at_the_postgres_service(services):
    postgres = services["postgres"]["environment"]
    uri = urlsplit(services["producer"]["environment"]["LAKEHOUSE_CATALOG_URI"])
    assert uri.scheme == "postgresql" and uri.hostname in services
    assert (uri.username, uri.password, uri.path.lstrip("/")) == (
        postgres["POSTGRES_USER"], postgres["POSTGRES_PASSWORD"], postgres["POSTGRES_DB"])


def test_every_project_setting_is_a_settings_field(services):
    fields = set(Settings.model_fields)
    for name, service in services.items():
        for variable in service.get("environment", {}):
            if variable.startswith("LAKEHOUSE_"):
                field = variable.removeprefix("LAKEHOUSE_").lower()
                assert field in fields, f"{name}: {variable} is no setting"


# ---- make STACK=docker

def make(*args: str) -> subprocess.CompletedProcess[str]:
    if shutil.which("make") is None:
        pytest.skip("no make")
    return subprocess.run(["make", "--no-print-directory", *args], cwd=PROJECT_ROOT,
                          capture_output=True, text=True, timeout=60)


COMPOSE_COMMAND = r"(?:docker compose|docker-compose)"


def test_make_uses_compose_for_stack_docker(services):
    up = make("-n", "up", "STACK=docker").stdout
    assert re.search(rf"^{COMPOSE_COMMAND} up -d$", up, re.M), up
    assert re.search(rf"^bash docker/wait-healthy.sh {COMPOSE_COMMAND}$", up, re.M), up
    assert re.search(rf"^{COMPOSE_COMMAND} down$", make("-n", "down", "STACK=docker").stdout, re.M)
    demo = make("-n", "demo", "STACK=docker").stdout
    assert re.search(rf"^{COMPOSE_COMMAND} run --rm demo$", demo, re.M), demo
    # the demo job is the local stack's demo, with its defaults
    assert services["demo"]["command"][:2] == JOB_COMMANDS["demo"]


def test_stack_docker_is_refused_in_one_line_without_a_docker_engine_or_compose():
    result = make("check-stack", "STACK=docker")
    if docker_answers() and compose_cli() is not None:
        assert result.returncode == 0, result.stderr
        return
    assert result.returncode != 0
    ours = [line for line in result.stderr.splitlines() if not line.startswith("make")]
    assert len(ours) == 1 and ours[0].startswith("STACK=docker:"), result.stderr
    if docker_answers():  # an engine without Compose
        assert "no Docker Compose" in ours[0]


def test_unknown_stack_is_refused():
    result = make("check-stack", "STACK=kubernetes")
    assert result.returncode != 0 and "STACK=kubernetes: unknown stack" in result.stderr


def test_the_testcontainers_broker_is_the_compose_brokers_image(services, pom):
    from tests.conftest import TESTCONTAINERS_KAFKA_IMAGE, kafka_container_environment

    assert TESTCONTAINERS_KAFKA_IMAGE == services["kafka"]["image"]
    assert image_tag(TESTCONTAINERS_KAFKA_IMAGE) == pom["kafka.broker.version"]
    # the compose broker's settings but its listeners: what the two brokers do is the same
    environment = kafka_container_environment(40000)
    for key, value in services["kafka"]["environment"].items():
        if key.removeprefix("KAFKA_").lower().replace("_", ".") not in NETWORK_PROPERTIES:
            assert environment[key] == value, key
    assert environment["KAFKA_ADVERTISED_LISTENERS"] == "PLAINTEXT://127.0.0.1:40000"
