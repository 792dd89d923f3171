# The purchases lakehouse on AWS: S3 buckets per layer, the Glue Data Catalog databases the
# Iceberg tables live in, the Athena workgroup dbt and the analyses run in, least-privilege IAM
# roles for the streaming jobs, dbt and the ML job, an EMR Serverless application to run the
# jobs on, and (only when asked) an MSK Serverless cluster. docs/aws.md walks through it.

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  in_vpc     = var.vpc_id != null && length(var.subnet_ids) > 0
  # A stream is a contract (contracts/<stream>.schema.json): its topic is its name, behind the prefix.
  kafka_topics = [for file in fileset("${path.module}/../contracts", "*.schema.json") :
  "${var.kafka_topic_prefix}${trimsuffix(file, ".schema.json")}"]
}

module "storage" {
  source = "./modules/storage"

  name_prefix                         = var.name_prefix
  account_id                          = local.account_id
  region                              = var.region
  force_destroy                       = var.force_destroy_buckets
  bronze_infrequent_access_after_days = var.bronze_infrequent_access_after_days
  bronze_glacier_after_days           = var.bronze_glacier_after_days
  athena_results_expiration_days      = var.athena_results_expiration_days
  noncurrent_version_expiration_days  = var.noncurrent_version_expiration_days
  log_expiration_days                 = var.log_expiration_days
}

module "catalog" {
  source = "./modules/catalog"

  # Each layer's database points at its bucket, so Iceberg (Spark's GlueCatalog, pyiceberg)
  # puts a new table at s3://<layer bucket>/<table> without being told a warehouse per layer.
  database_locations = merge(
    { for layer in ["bronze", "silver", "gold"] : layer => trimsuffix(module.storage.uris[layer], "/") },
    # the serving views (dbt_project/models/serving/) hold no rows; a table there goes with gold
    { serving = "${trimsuffix(module.storage.uris["gold"], "/")}/serving" },
  )
}

module "athena" {
  source = "./modules/athena"

  workgroup                      = var.athena_workgroup
  results_uri                    = module.storage.athena_results_uri
  kms_key_arn                    = module.storage.kms_key_arn
  bytes_scanned_cutoff_per_query = var.athena_bytes_scanned_cutoff_per_query
}

module "emr_serverless" {
  source = "./modules/emr_serverless"
  count  = var.enable_emr_serverless ? 1 : 0

  name              = var.name_prefix
  release_label     = var.emr_release_label
  architecture      = var.emr_architecture
  maximum_vcpu      = var.emr_maximum_vcpu
  maximum_memory_gb = var.emr_maximum_memory_gb
  image_uri         = var.emr_image_uri
  log_uri           = module.storage.artifact_uris.emr_logs
  kms_key_arn       = module.storage.kms_key_arn
  vpc_id            = local.in_vpc ? var.vpc_id : null
  subnet_ids        = local.in_vpc ? var.subnet_ids : []
}

module "msk_serverless" {
  source = "./modules/msk_serverless"
  count  = var.enable_msk_serverless ? 1 : 0

  cluster_name = var.name_prefix
  vpc_id       = var.vpc_id
  subnet_ids   = var.subnet_ids
  # The EMR workers' security group is the only client the cluster's security group lets in.
  client_security_group_ids = var.enable_emr_serverless && local.in_vpc ? [module.emr_serverless[0].security_group_id] : []
}

module "iam" {
  source = "./modules/iam"

  name_prefix             = var.name_prefix
  account_id              = local.account_id
  region                  = var.region
  partition               = local.partition
  kms_key_arn             = module.storage.kms_key_arn
  bucket_arns             = module.storage.bucket_arns
  athena_workgroup_arn    = module.athena.workgroup_arn
  database_names          = module.catalog.database_names
  operator_principal_arns = var.operator_principal_arns
  kafka_topics            = local.kafka_topics
  artifact_prefixes       = module.storage.artifact_prefixes
  ml_table                = "purchase_anomalies" # gold.purchase_anomalies, a public name (DESIGN.md)
  msk_cluster             = var.enable_msk_serverless ? module.msk_serverless[0].cluster : null
}
