variable "name_prefix" {
  description = "Prefix of the bucket names and the KMS alias."
  type        = string
}

variable "account_id" {
  description = "AWS account id: part of every bucket name (bucket names are global)."
  type        = string
}

variable "region" {
  description = "AWS region: part of every bucket name."
  type        = string
}

variable "force_destroy" {
  description = "Let `terraform destroy` delete buckets that still hold objects."
  type        = bool
}

variable "bronze_infrequent_access_after_days" {
  description = "Days after which bronze objects move to Standard-IA."
  type        = number
}

variable "bronze_glacier_after_days" {
  description = "Days after which bronze objects move to Glacier Instant Retrieval."
  type        = number
}

variable "athena_results_expiration_days" {
  description = "Days after which Athena query results are deleted."
  type        = number
}

variable "noncurrent_version_expiration_days" {
  description = "Days an overwritten or deleted object version is kept."
  type        = number
}

variable "log_expiration_days" {
  description = "Days after which access logs and EMR job logs are deleted."
  type        = number
}
