# Every input of the lakehouse's AWS side, with a default that deploys a working, private and
# encrypted lakehouse. terraform.tfvars.example shows the ones people usually change.

variable "region" {
  description = "AWS region of every resource (LAKEHOUSE_AWS_REGION). Athena, Glue, S3 and EMR Serverless must share it."
  type        = string
  default     = "eu-west-1"
}

variable "name_prefix" {
  description = "Prefix of every name: buckets (with the account id and region appended), roles, the EMR application, the MSK cluster."
  type        = string
  default     = "purchases-lakehouse"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,19}$", var.name_prefix))
    error_message = "name_prefix: 3 to 20 characters, lower-case letters, digits and '-', starting with a letter (bucket names have 63 characters at most)."
  }
}

variable "tags" {
  description = "Tags added to every resource, beside project and managed-by."
  type        = map(string)
  default     = {}
}

# ---- S3

variable "force_destroy_buckets" {
  description = "Let `terraform destroy` delete buckets that still hold objects (every version). Keep false in production: bronze is the replay source of record."
  type        = bool
  default     = false
}

variable "bronze_infrequent_access_after_days" {
  description = "Move bronze objects to S3 Standard-IA this many days after they were written (bronze is read again only by a backfill)."
  type        = number
  default     = 30

  validation {
    condition     = var.bronze_infrequent_access_after_days >= 30
    error_message = "S3 moves objects to Standard-IA no earlier than 30 days after creation."
  }
}

variable "bronze_glacier_after_days" {
  description = "Move bronze objects to S3 Glacier Instant Retrieval this many days after they were written (still readable in milliseconds, so a backfill needs no restore)."
  type        = number
  default     = 90
}

variable "athena_results_expiration_days" {
  description = "Delete Athena query results this many days after they were written."
  type        = number
  default     = 7
}

variable "noncurrent_version_expiration_days" {
  description = "Keep overwritten or deleted object versions (versioning is on) this many days, then delete them. Iceberg snapshot expiry and compaction leave such versions behind."
  type        = number
  default     = 30
}

variable "log_expiration_days" {
  description = "Delete S3 server access logs and EMR Serverless job logs this many days after they were written."
  type        = number
  default     = 90
}

# ---- Athena

variable "athena_workgroup" {
  description = "Name of the Athena workgroup dbt and the analyses run in (LAKEHOUSE_ATHENA_WORKGROUP)."
  type        = string
  default     = "purchases-lakehouse"
}

variable "athena_bytes_scanned_cutoff_per_query" {
  description = "Athena cancels a query that scans more than this many bytes (the minimum Athena accepts is 10 MiB). The default, 100 GiB, costs at most about 0.54 USD a query at 5 USD per TB, and is about twice a year of gold at the reference load of docs/aws.md, so dbt's full rebuilds fit under it while a runaway query stops."
  type        = number
  default     = 107374182400

  validation {
    condition     = var.athena_bytes_scanned_cutoff_per_query >= 10485760
    error_message = "Athena's bytes-scanned cutoff must be at least 10485760 (10 MiB)."
  }
}

# ---- who may assume the dbt and ML roles

variable "operator_principal_arns" {
  description = "IAM principals (users or roles) allowed to assume the dbt and ML roles, for example a CI role or an SSO role. Empty: any principal of this account that its own IAM policy lets call sts:AssumeRole on them."
  type        = list(string)
  default     = []
}

# ---- EMR Serverless (runs the streaming jobs and the ML job)

variable "enable_emr_serverless" {
  description = "Create the EMR Serverless Spark application the streaming jobs and the ML job run on. It costs nothing while no job runs."
  type        = bool
  default     = true
}

variable "emr_release_label" {
  description = "EMR release of the application: emr-8.1.0 runs Spark 4.1 with Iceberg 1.11, the versions jvm/pom.xml pins (docs/versions.md)."
  type        = string
  default     = "emr-8.1.0"
}

variable "emr_architecture" {
  description = "CPU architecture of the EMR Serverless workers: X86_64, or ARM64 (Graviton, about 20% cheaper; the Python environment you ship must then be built for aarch64)."
  type        = string
  default     = "X86_64"

  validation {
    condition     = contains(["X86_64", "ARM64"], var.emr_architecture)
    error_message = "emr_architecture must be X86_64 or ARM64."
  }
}

variable "emr_maximum_vcpu" {
  description = "Most vCPUs the application's workers may hold at once, across all its jobs: a ceiling on spend."
  type        = number
  default     = 16
}

variable "emr_maximum_memory_gb" {
  description = "Most memory (GB) the application's workers may hold at once, across all its jobs."
  type        = number
  default     = 64
}

variable "emr_image_uri" {
  description = "Optional custom EMR Serverless image (ECR URI) with the project's Python packages installed. Null: the EMR image, and the Python environment comes as an archive (docs/aws.md)."
  type        = string
  default     = null
}

# ---- network: needed by MSK Serverless, and by the jobs to reach it

variable "vpc_id" {
  description = "VPC of the MSK cluster and of the EMR application's workers. Null: the application runs without VPC access (enough for a Kafka cluster reachable over the internet, not for MSK Serverless)."
  type        = string
  default     = null
}

variable "subnet_ids" {
  description = "Private subnets (in at least two Availability Zones) for the MSK cluster and the EMR workers. They need a route to S3 (a gateway endpoint) and to the Glue, KMS and STS APIs (a NAT gateway or interface endpoints)."
  type        = list(string)
  default     = []
}

# ---- Kafka

variable "enable_msk_serverless" {
  description = "Create an MSK Serverless cluster (IAM authentication) for the `purchases` topic. Off by default: it costs about 550 USD a month even idle (docs/aws.md); point LAKEHOUSE_KAFKA_BOOTSTRAP at any Kafka instead."
  type        = bool
  default     = false
}

variable "kafka_topic_prefix" {
  description = "LAKEHOUSE_TOPIC_PREFIX: the jobs read each stream's topic (its contract's name, contracts/) behind it; the IAM policies name every one."
  type        = string
  default     = ""
}
