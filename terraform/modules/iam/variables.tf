variable "name_prefix" {
  description = "Prefix of the role names."
  type        = string
}

variable "account_id" {
  description = "AWS account id."
  type        = string
}

variable "region" {
  description = "AWS region of the Glue catalog, the Athena workgroup and the MSK cluster."
  type        = string
}

variable "partition" {
  description = "AWS partition (aws, aws-cn, aws-us-gov)."
  type        = string
}

variable "kms_key_arn" {
  description = "The lakehouse KMS key."
  type        = string
}

variable "bucket_arns" {
  description = "Bucket ARN of each layer: bronze, silver, gold, athena_results, artifacts."
  type        = map(string)
}

variable "artifact_prefixes" {
  description = "Prefix of each kind of artifact in the artifacts bucket: code, checkpoints, models, emr_logs."
  type        = map(string)
}

variable "athena_workgroup_arn" {
  description = "ARN of the Athena workgroup dbt runs in."
  type        = string
}

variable "database_names" {
  description = "Glue database name of each layer: bronze, silver, gold, serving."
  type        = map(string)
}

variable "ml_table" {
  description = "The one gold table the ML job writes."
  type        = string
}

variable "operator_principal_arns" {
  description = "Principals allowed to assume the dbt and ML roles; empty for the account."
  type        = list(string)
}

variable "kafka_topics" {
  description = "The topics the streaming jobs read: one per stream."
  type        = list(string)
}

variable "msk_cluster" {
  description = "The MSK Serverless cluster (name, uuid, arn), or null when Kafka is not MSK."
  type = object({
    name = string
    uuid = string
    arn  = string
  })
  default = null
}
