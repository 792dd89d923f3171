"""The one settings module: every setting is read here from `LAKEHOUSE_*` environment variables
(see .env.example), and every path derives here from them. No other module reads the
environment or hard-codes a path, host or bucket. What one library needs (Spark's conf,
pyiceberg's catalog properties, Kafka clients' options, dbt's profile variables) is translated
from these settings once, by the module that talks to that library."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import URL, make_url

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# One JSON Schema per stream, contracts/<stream>.schema.json (lakehouse.contract).
CONTRACTS_DIR = PROJECT_ROOT / "contracts"
CONTRACT_SUFFIX = ".schema.json"
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"

# Public names: topics, tables and namespaces are the interface users and dbt depend on.
TOPIC = "purchases"
SILVER_NAMESPACE = "silver"
GOLD_NAMESPACE = "gold"
SILVER_TABLE = f"{SILVER_NAMESPACE}.purchases"
QUARANTINE_TABLE = f"{SILVER_NAMESPACE}.purchases_quarantine"
SILVER_BATCHES_TABLE = f"{SILVER_NAMESPACE}.purchases_batches"
GOLD_FACT_TABLE = f"{GOLD_NAMESPACE}.fct_purchases"
ANOMALIES_TABLE = f"{GOLD_NAMESPACE}.purchase_anomalies"


class Settings(BaseSettings):
    """Read from `LAKEHOUSE_*` variables (and a `.env` file); every field has a local default."""

    model_config = SettingsConfigDict(env_prefix="LAKEHOUSE_", env_file=".env", extra="ignore")

    profile: Literal["local", "aws"] = "local"
    # Everything the local profile writes lives under this folder (broker data, catalog, tables).
    home: Path = PROJECT_ROOT / ".lakehouse"
    # Where `make setup` resolved the pinned JVM jars (jvm/pom.xml).
    jars_dir: Path = PROJECT_ROOT / ".jars"

    kafka_bootstrap: str = "127.0.0.1:9092"
    # The stream a command works on by default: a contract's name (contracts/<stream>.schema.json).
    stream: str = TOPIC
    # Prepended to every stream's topic, so several stacks or tests can share one broker.
    topic_prefix: str = ""
    # The Kafka topic of `stream` (default: topic_prefix + stream).
    topic: str = ""
    topic_partitions: int = 2
    # Kafka offsets that aged out of retention fail the query instead of being skipped silently.
    fail_on_data_loss: bool = True
    # Messages a micro-batch (bronze's and silver's) reads at most. Most of a silver batch's
    # cost is fixed whatever its size, so a backlog drains faster in fewer, larger batches
    # (docs/benchmarks.md, change 17); the driver's heap (spark_driver_memory) bounds a batch.
    max_offsets_per_trigger: int = 150_000

    catalog_name: str = "lakehouse"
    # The Iceberg JDBC catalog in a PostgreSQL database instead of the SQLite file under `home`
    # (`postgresql://user:password@host:port/database`), e.g. on the docker-compose stack.
    catalog_uri: str | None = None
    spark_master: str = "local[2]"
    spark_driver_memory: str = "2g"
    spark_shuffle_partitions: int = 4
    # Spark's driver JVM maps the classes `make setup` archived (ops.class_archive) instead of
    # loading them at each start, so sessions start sooner (docs/benchmarks.md, change 18).
    # Used when the archive exists.
    spark_class_sharing: bool = True
    # Events whose event_time is further ahead of the clock than this are quarantined.
    max_future_skew_seconds: float = 300.0
    # Salt for hashing PII (customer name and e-mail) on the way into silver.
    pii_salt: str = "change-me"
    # How Kafka clients authenticate: none (a local or private broker) or IAM (Amazon MSK).
    kafka_security: Literal["plaintext", "msk-iam"] = "plaintext"

    # ---- orchestration (Apache Airflow, `make airflow`) and live mode (`make live`)
    # The interface Airflow's API server and the dashboard bind: loopback; 0.0.0.0 inside a
    # container of the docker stack, whose host publishes the port on its own loopback only.
    listen_address: str = "127.0.0.1"
    # Airflow's API server and UI listen at this port.
    airflow_port: int = 8080
    # Seconds between two looks of the gold DAG's watcher at silver.purchases' snapshot.
    gold_poll_seconds: float = 5.0
    # A failed gold task is tried again this many times, after 10 s, 20 s, 40 s... (at most 5 min).
    gold_retries: int = 3
    gold_retry_delay_seconds: float = 10.0
    # Where a gold run's final failure is also posted as JSON (unset: the alert is only logged).
    alert_webhook_url: str | None = None
    # Live mode: messages per second the producer sends, and the streams' trigger interval.
    live_rate: float = 20.0
    live_trigger_interval: str = "5 seconds"

    # ---- the dashboard (`make dashboard`)
    # Streamlit serves it at this port (on listen_address).
    dashboard_port: int = 8501
    # Seconds a query's result is reused before the dashboard reads the tables again.
    dashboard_cache_seconds: float = 60.0
    # Silver is amber from this many hours without a commit (or a new event), red from the
    # second: the silver source's freshness in dbt (warn_after, error_after; a test keeps them equal).
    freshness_warn_hours: float = 6.0
    freshness_error_hours: float = 24.0

    # ---- the serving layer's alerts (`python -m serving alerts`)
    # A stream's silver is stale, an alert, after this many seconds without a new row.
    alert_freshness_limit_seconds: float = 900.0

    # ---- the `aws` profile: the Terraform outputs of the same names (docs/aws.md)
    aws_region: str = "eu-west-1"
    bronze_s3: str | None = None
    silver_s3: str | None = None
    gold_s3: str | None = None
    athena_results_s3: str | None = None
    # Streaming checkpoints (a Hadoop file system URI: s3:// on EMR), one folder per job.
    checkpoints_s3: str | None = None
    athena_workgroup: str = "purchases-lakehouse"
    # S3 and Glue at another address than AWS's (an emulator such as moto, in tests).
    aws_endpoint_url: str | None = None

    @model_validator(mode="after")
    def _topic_of_the_stream(self) -> Settings:
        if not (CONTRACTS_DIR / f"{self.stream}{CONTRACT_SUFFIX}").is_file():
            raise ValueError(f"no contract {CONTRACTS_DIR.name}/{self.stream}{CONTRACT_SUFFIX} "
                             "for LAKEHOUSE_STREAM")
        if not self.topic:
            self.topic = self.topic_prefix + self.stream
        return self

    def for_stream(self, stream: str) -> Settings:
        """These settings for another stream: its topic, and so its bronze folder, checkpoints
        and metrics files."""
        if stream == self.stream:
            return self
        return self.model_copy(update={"stream": stream, "topic": self.topic_prefix + stream})

    @model_validator(mode="after")
    def _aws_profile_has_its_locations(self) -> Settings:
        if self.profile == "aws":
            needed = ("bronze_s3", "silver_s3", "gold_s3", "athena_results_s3", "checkpoints_s3")
            missing = [f"LAKEHOUSE_{name.upper()}" for name in needed if not getattr(self, name)]
            if missing:
                raise ValueError(
                    f"LAKEHOUSE_PROFILE=aws needs {', '.join(missing)}: the Terraform outputs of "
                    "the same names (docs/aws.md, 'Deploy')"
                )
        return self

    # ---- local paths, all derived from `home`
    @property
    def catalog_db(self) -> Path:
        return self.home / "catalog.db"

    @property
    def warehouse(self) -> Path:
        return self.home / "warehouse"

    @property
    def bronze_dir(self) -> Path:
        return self.home / "bronze" / self.topic

    def checkpoint_dir(self, job: str) -> Path:
        return self.home / "checkpoints" / f"{job}-{self.topic}"

    # ---- where Spark writes bronze and checkpoints: local folders, or S3 on the aws profile
    @property
    def bronze_location(self) -> str:
        if self.profile == "aws":
            return f"{_folder(self.bronze_s3)}{self.topic}"
        return str(self.bronze_dir)

    def checkpoint_location(self, job: str) -> str:
        if self.profile == "aws":
            return f"{_folder(self.checkpoints_s3)}{job}-{self.topic}"
        return str(self.checkpoint_dir(job))

    def metrics_path(self, job: str) -> Path:
        """Per micro-batch progress of a streaming job, one JSON object a line."""
        return self.home / "metrics" / f"{job}-{self.topic}.jsonl"

    @property
    def broker_dir(self) -> Path:
        return self.home / "kafka"

    @property
    def ground_truth_path(self) -> Path:
        return self.home / "ground_truth" / f"{self.topic}_anomalies.csv"

    @property
    def models_dir(self) -> Path:
        return self.home / "models"

    @property
    def reports_dir(self) -> Path:
        return self.home / "reports"

    @property
    def airflow_home(self) -> Path:
        return self.home / "airflow"

    @property
    def serving_dir(self) -> Path:
        """The analyses' results as JSON, refreshed by the purchases_serving DAG."""
        return self.home / "serving"

    @property
    def live_dir(self) -> Path:
        """Live mode's pid files and logs (the supervisor's and each stream's)."""
        return self.home / "live"

    @property
    def kafka_port(self) -> int:
        return int(self.kafka_bootstrap.split(",")[0].rsplit(":", 1)[1])

    @property
    def kafka_host(self) -> str:
        return self.kafka_bootstrap.split(",")[0].rsplit(":", 1)[0]

    @property
    def catalog_database(self) -> URL | None:
        """The PostgreSQL catalog database, when `catalog_uri` names one."""
        if self.catalog_uri is None:
            return None
        url = make_url(self.catalog_uri)
        if url.get_backend_name() != "postgresql":
            raise ValueError(
                f"LAKEHOUSE_CATALOG_URI must be postgresql://..., not {url.drivername}://"
            )
        return url

    @cached_property
    def spark_jars(self) -> list[Path]:
        return sorted((self.jars_dir / "spark").glob("*.jar"))

    @property
    def spark_class_archive(self) -> Path:
        return self.jars_dir / "spark-classes.jsa"

    @cached_property
    def kafka_jars(self) -> list[Path]:
        return sorted((self.jars_dir / "kafka").glob("*.jar"))

    def environment(self) -> dict[str, str]:
        """These settings as the `LAKEHOUSE_*` variables that make a subprocess see them."""
        return {f"LAKEHOUSE_{name.upper()}": str(value)
                for name, value in self.model_dump().items() if value is not None}


def load_settings(**overrides: object) -> Settings:
    """The settings for a command-line entry point: a setting that does not validate ends the
    command with one clear line instead of a traceback."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = "; ".join(
            ("LAKEHOUSE_" + "_".join(str(part) for part in error["loc"]).upper() + ": "
             if error["loc"] else "") + error["msg"].removeprefix("Value error, ")
            for error in exc.errors()
        )
        raise SystemExit(f"invalid settings: {problems}") from None


def _folder(uri: str | None) -> str:
    return (uri or "").rstrip("/") + "/"
