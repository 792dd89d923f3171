variable "workgroup" {
  description = "Name of the workgroup."
  type        = string
}

variable "results_uri" {
  description = "s3:// URI query results are written under."
  type        = string
}

variable "kms_key_arn" {
  description = "KMS key query results are encrypted with."
  type        = string
}

variable "bytes_scanned_cutoff_per_query" {
  description = "A query scanning more bytes than this is cancelled."
  type        = number
}
