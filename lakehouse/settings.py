"""The one settings module: every path, catalog property, Spark conf and Kafka address is
derived here from the profile and `LAKEHOUSE_*` environment variables (see .env.example).
No other module reads the environment or hard-codes a path, host or bucket."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import URL, make_url

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CONTRACT_PATH = PROJECT_ROOT / "contracts" / "purchase_event.schema.json"
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

SQLITE_BUSY_TIMEOUT_MS = 30_000


class Settings(BaseSettings):
    """Read from `LAKEHOUSE_*` variables (and a `.env` file); every field has a local default."""

    model_config = SettingsConfigDict(env_prefix="LAKEHOUSE_", env_file=".env", extra="ignore")

    profile: Literal["local", "aws"] = "local"
    # Everything the local profile writes lives under this folder (broker data, catalog, tables).
    home: Path = PROJECT_ROOT / ".lakehouse"
    # Where `make setup` resolved the pinned JVM jars (jvm/pom.xml).
    jars_dir: Path = PROJECT_ROOT / ".jars"

    kafka_bootstrap: str = "127.0.0.1:9092"
    topic: str = TOPIC
    topic_partitions: int = 2
    # Kafka offsets that aged out of retention fail the query instead of being skipped silently.
    fail_on_data_loss: bool = True
    # Messages a micro-batch (bronze's and silver's) reads at most. A silver batch costs ~3-5 s
    # whatever its size (planning, three commits, the dedup join's scan), so a backlog drains
    # faster in fewer, larger batches: 240,000 events in 71 s instead of 90 s with 50,000
    # (docs/benchmarks.md, change 17); the driver's heap (spark_driver_memory) bounds what a
    # batch holds.
    max_offsets_per_trigger: int = 150_000

    catalog_name: str = "lakehouse"
    # The Iceberg JDBC catalog in a PostgreSQL database instead of the SQLite file under `home`
    # (`postgresql://user:password@host:port/database`), e.g. on the docker-compose stack.
    catalog_uri: str | None = None
    spark_master: str = "local[2]"
    spark_driver_memory: str = "2g"
    spark_shuffle_partitions: int = 4
    # Spark's driver JVM maps the classes `make setup` archived (lakehouse.class_archive)
    # instead of loading them at each start: sessions start and answer their first queries
    # ~6 s sooner (docs/benchmarks.md, change 18). Used when the archive exists.
    spark_class_sharing: bool = True
    # Events whose event_time is further ahead of the clock than this are quarantined.
    max_future_skew_seconds: float = 300.0
    # Salt for hashing PII (customer name and e-mail) on the way into silver.
    pii_salt: str = "change-me"
    # How Kafka clients authenticate: none (a local or private broker) or IAM (Amazon MSK).
    kafka_security: Literal["plaintext", "msk-iam"] = "plaintext"

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
    def kafka_port(self) -> int:
        return int(self.kafka_bootstrap.split(",")[0].rsplit(":", 1)[1])

    @property
    def kafka_host(self) -> str:
        return self.kafka_bootstrap.split(",")[0].rsplit(":", 1)[0]

    @cached_property
    def spark_jars(self) -> list[Path]:
        return sorted((self.jars_dir / "spark").glob("*.jar"))

    @property
    def spark_class_archive(self) -> Path:
        return self.jars_dir / "spark-classes.jsa"

    @cached_property
    def kafka_jars(self) -> list[Path]:
        return sorted((self.jars_dir / "kafka").glob("*.jar"))

    # ---- Kafka clients
    def kafka_python_options(self) -> dict[str, str]:
        """kafka-python's arguments for the same authentication (producer, topic admin)."""
        if self.kafka_security == "plaintext":
            return {}
        return {"security_protocol": "SASL_SSL", "sasl_mechanism": "AWS_MSK_IAM"}

    def kafka_client_options(self) -> dict[str, str]:
        """Kafka client properties beyond the bootstrap servers (Spark passes them as `kafka.*`)."""
        if self.kafka_security == "plaintext":
            return {}
        return {
            "security.protocol": "SASL_SSL",
            "sasl.mechanism": "AWS_MSK_IAM",
            "sasl.jaas.config": "software.amazon.msk.auth.iam.IAMLoginModule required;",
            "sasl.client.callback.handler.class": (
                "software.amazon.msk.auth.iam.IAMClientCallbackHandler"
            ),
        }

    # ---- catalog
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

    def _aws_catalog_properties(self) -> dict[str, str]:
        """Iceberg's Glue catalog with S3 files, the same for Spark (Java) and pyiceberg."""
        properties = {
            "type": "glue",
            # A table goes under its Glue database's location (Terraform points `silver` at the
            # silver bucket); the warehouse is only the fallback for a database without one.
            "warehouse": self.silver_s3 or "",
            "client.region": self.aws_region,
            "glue.region": self.aws_region,
            "s3.region": self.aws_region,
        }
        if self.aws_endpoint_url:
            properties |= {
                "glue.endpoint": self.aws_endpoint_url,
                "s3.endpoint": self.aws_endpoint_url,
                "s3.path-style-access": "true",
            }
        return properties

    def spark_catalog_conf(self) -> dict[str, str]:
        """Iceberg catalog properties for Spark: JDBC catalog in one SQLite file or PostgreSQL
        (local), or the Glue Data Catalog with S3FileIO (aws)."""
        prefix = f"spark.sql.catalog.{self.catalog_name}"
        if self.profile == "aws":
            return {
                prefix: "org.apache.iceberg.spark.SparkCatalog",
                f"{prefix}.io-impl": "org.apache.iceberg.aws.s3.S3FileIO",
                f"{prefix}.cache-enabled": "false",
                **{f"{prefix}.{key}": value
                   for key, value in self._aws_catalog_properties().items()},
            }
        database = self.catalog_database
        if database is None:
            connection = {
                f"{prefix}.uri": f"jdbc:sqlite:{self.catalog_db}",
                f"{prefix}.jdbc.journal_mode": "WAL",
                f"{prefix}.jdbc.busy_timeout": str(SQLITE_BUSY_TIMEOUT_MS),
            }
        else:
            connection = {
                f"{prefix}.uri": (
                    f"jdbc:postgresql://{database.host}:{database.port or 5432}/{database.database}"
                ),
                f"{prefix}.jdbc.user": database.username or "",
                f"{prefix}.jdbc.password": database.password or "",
            }
        return {
            prefix: "org.apache.iceberg.spark.SparkCatalog",
            f"{prefix}.type": "jdbc",
            **connection,
            # V1 keeps the iceberg_type column pyiceberg also reads and writes.
            f"{prefix}.jdbc.schema-version": "V1",
            f"{prefix}.warehouse": self.warehouse.as_uri(),
            # Several writers share the catalog (streams, dbt, pyiceberg): always read the
            # latest metadata instead of a table cached when the session first loaded it.
            f"{prefix}.cache-enabled": "false",
        }

    def spark_conf(self) -> dict[str, str]:
        """Every Spark conf the jobs and the dbt local target run with."""
        missing = [] if self.spark_jars else [str(self.jars_dir / "spark")]
        if missing:
            raise FileNotFoundError(
                f"no Spark jars in {missing[0]}: run `make setup` to resolve jvm/pom.xml"
            )
        return {
            "spark.master": self.spark_master,
            "spark.app.name": "purchases-lakehouse",
            "spark.driver.memory": self.spark_driver_memory,
            "spark.jars": ",".join(str(p) for p in self.spark_jars),
            "spark.sql.extensions": (
                "org.apache.iceberg.spark.extensions.IcebergSparkSessionExtensions"
            ),
            "spark.sql.defaultCatalog": self.catalog_name,
            "spark.sql.shuffle.partitions": str(self.spark_shuffle_partitions),
            "spark.sql.session.timeZone": "UTC",
            "spark.sql.warehouse.dir": (self.home / "spark-warehouse").as_uri(),
            "spark.driver.extraJavaOptions": " ".join(self._java_options()),
            "spark.ui.enabled": "false",
            "spark.ui.showConsoleProgress": "false",
            **self.spark_catalog_conf(),
        }

    def _java_options(self) -> list[str]:
        options = [f"-Dderby.system.home={self.home / 'derby'}"]
        if self.spark_class_sharing and self.spark_class_archive.is_file():
            options.append(f"-XX:SharedArchiveFile={self.spark_class_archive}")
        if self.profile == "aws" and self.aws_endpoint_url:
            # AWS SDK v2 (>= 2.30) adds checksums to every request by default; emulators such as
            # moto reject some of them, AWS itself does not need them.
            options += ["-Daws.requestChecksumCalculation=when_required",
                        "-Daws.responseChecksumValidation=when_required"]
        return options

    def pyiceberg_properties(self) -> dict[str, str]:
        """The same catalog for pyiceberg: same database (SQLite file or PostgreSQL) or the
        same Glue Data Catalog, same name."""
        if self.profile == "aws":
            return self._aws_catalog_properties()
        database = self.catalog_database
        return {
            "type": "sql",
            "uri": (
                f"sqlite:///{self.catalog_db}?timeout={SQLITE_BUSY_TIMEOUT_MS // 1000}"
                if database is None
                else database.set(drivername="postgresql+psycopg2").render_as_string(
                    hide_password=False)
            ),
            "warehouse": self.warehouse.as_uri(),
        }

    def environment(self) -> dict[str, str]:
        """These settings as the `LAKEHOUSE_*` variables that make a subprocess see them."""
        return {f"LAKEHOUSE_{name.upper()}": str(value)
                for name, value in self.model_dump().items() if value is not None}

    def dbt_athena_env(self) -> dict[str, str]:
        """What dbt_project/profiles.yml's `athena` target reads, from these settings."""
        return {
            "LAKEHOUSE_ATHENA_RESULTS_S3": self.athena_results_s3 or "",
            "LAKEHOUSE_GOLD_S3": self.gold_s3 or "",
            "LAKEHOUSE_AWS_REGION": self.aws_region,
            "LAKEHOUSE_ATHENA_WORKGROUP": self.athena_workgroup,
        }


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
