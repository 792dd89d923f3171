"""The one settings module: every path, catalog property, Spark conf and Kafka address is
derived here from the profile and `LAKEHOUSE_*` environment variables (see .env.example).
No other module reads the environment or hard-codes a path, host or bucket."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Literal

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
    max_offsets_per_trigger: int = 50_000

    catalog_name: str = "lakehouse"
    # The Iceberg JDBC catalog in a PostgreSQL database instead of the SQLite file under `home`
    # (`postgresql://user:password@host:port/database`), e.g. on the docker-compose stack.
    catalog_uri: str | None = None
    spark_master: str = "local[2]"
    spark_driver_memory: str = "2g"
    spark_shuffle_partitions: int = 4
    # Events whose event_time is further ahead of the clock than this are quarantined.
    max_future_skew_seconds: float = 300.0
    # Salt for hashing PII (customer name and e-mail) on the way into silver.
    pii_salt: str = "change-me"

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

    @cached_property
    def kafka_jars(self) -> list[Path]:
        return sorted((self.jars_dir / "kafka").glob("*.jar"))

    # ---- catalog
    def _require_local(self) -> None:
        if self.profile != "local":
            raise NotImplementedError(
                "LAKEHOUSE_PROFILE=aws is not wired yet (Glue catalog + S3 arrive with the AWS issue)"
            )

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

    def spark_catalog_conf(self) -> dict[str, str]:
        """Iceberg catalog properties for Spark (JDBC catalog in one SQLite file, or PostgreSQL)."""
        self._require_local()
        prefix = f"spark.sql.catalog.{self.catalog_name}"
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
            "spark.driver.extraJavaOptions": f"-Dderby.system.home={self.home / 'derby'}",
            "spark.ui.enabled": "false",
            "spark.ui.showConsoleProgress": "false",
            **self.spark_catalog_conf(),
        }

    def pyiceberg_properties(self) -> dict[str, str]:
        """The same catalog for pyiceberg: same database (SQLite file or PostgreSQL), same name."""
        self._require_local()
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
