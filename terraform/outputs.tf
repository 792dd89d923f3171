# Outputs named LAKEHOUSE_* are the settings of the project's `aws` profile, named after the
# environment variable each one feeds (.env.example). Write them all into .env with:
#
#   terraform -chdir=terraform output -json \
#     | jq -r 'to_entries[] | select((.key | startswith("LAKEHOUSE_")) and .value.value != null)
#         | "\(.key)=\(.value.value)"' >> .env
#
# The other outputs (role ARNs, the EMR application) are what docs/aws.md's commands need.

output "LAKEHOUSE_PROFILE" {
  description = "The settings profile these outputs are for."
  value       = "aws"
}

output "LAKEHOUSE_AWS_REGION" {
  description = "Region of the buckets, the Glue Data Catalog, Athena and EMR Serverless."
  value       = var.region
}

output "LAKEHOUSE_BRONZE_S3" {
  description = "Bronze bucket: the bronze job's JSON-lines files, partitioned by ingest_date."
  value       = module.storage.uris.bronze
}

output "LAKEHOUSE_SILVER_S3" {
  description = "Silver bucket: the Iceberg warehouse of the silver tables (the Glue database `silver` points here)."
  value       = module.storage.uris.silver
}

output "LAKEHOUSE_GOLD_S3" {
  description = "Gold bucket: dbt-athena's s3_data_dir and the location of gold.purchase_anomalies (the Glue database `gold` points here)."
  value       = module.storage.uris.gold
}

output "LAKEHOUSE_ATHENA_RESULTS_S3" {
  description = "Athena query results (dbt-athena's s3_staging_dir); the workgroup enforces it."
  value       = module.storage.athena_results_uri
}

output "LAKEHOUSE_ATHENA_WORKGROUP" {
  description = "Athena workgroup of dbt and the analyses."
  value       = module.athena.workgroup
}

output "LAKEHOUSE_CHECKPOINTS_S3" {
  description = "Streaming checkpoints, one folder per job under it (bronze-<topic>, silver-<topic>)."
  value       = module.storage.artifact_uris.checkpoints
}

output "LAKEHOUSE_KAFKA_BOOTSTRAP" {
  description = "SASL/IAM bootstrap servers of the MSK Serverless cluster; null when enable_msk_serverless is false (set your own Kafka's)."
  value       = var.enable_msk_serverless ? module.msk_serverless[0].cluster.bootstrap_brokers_sasl_iam : null
}

output "LAKEHOUSE_KAFKA_SECURITY" {
  description = "How the jobs authenticate to Kafka: msk-iam with MSK Serverless; null otherwise (plaintext, or set your own Kafka's)."
  value       = var.enable_msk_serverless ? "msk-iam" : null
}

# ---- for the commands in docs/aws.md

output "models_s3" {
  description = "Where the ML job keeps fitted anomaly models (copy them there from LAKEHOUSE_HOME/models after a run)."
  value       = module.storage.artifact_uris.models
}

output "glue_databases" {
  description = "Glue databases of the layers; their names are the namespaces every job, model and query uses."
  value       = module.catalog.database_names
}

output "bucket_names" {
  description = "Name of every bucket: bronze, silver, gold, athena_results, artifacts, access_logs."
  value       = module.storage.bucket_names
}

output "code_s3" {
  description = "Where docs/aws.md uploads the job entry points, the Python environment and the jars."
  value       = module.storage.artifact_uris.code
}

output "emr_logs_s3" {
  description = "Where EMR Serverless writes job logs."
  value       = module.storage.artifact_uris.emr_logs
}

output "kms_key_arn" {
  description = "The KMS key every bucket, the Athena results and the EMR logs are encrypted with."
  value       = module.storage.kms_key_arn
}

output "bronze_job_role_arn" {
  description = "Execution role of the bronze streaming job (EMR Serverless)."
  value       = module.iam.role_arns.bronze_job
}

output "silver_job_role_arn" {
  description = "Execution role of the silver streaming job, the backfill and silver maintenance (EMR Serverless)."
  value       = module.iam.role_arns.silver_job
}

output "dbt_role_arn" {
  description = "Role to assume for `dbt build --target athena`."
  value       = module.iam.role_arns.dbt
}

output "ml_job_role_arn" {
  description = "Execution role of the ML job (EMR Serverless), also assumable by operators."
  value       = module.iam.role_arns.ml_job
}

output "emr_serverless_application_id" {
  description = "EMR Serverless application the jobs run on; null when enable_emr_serverless is false."
  value       = var.enable_emr_serverless ? module.emr_serverless[0].application_id : null
}

output "msk_cluster_arn" {
  description = "ARN of the MSK Serverless cluster; null when enable_msk_serverless is false."
  value       = var.enable_msk_serverless ? module.msk_serverless[0].cluster.arn : null
}
