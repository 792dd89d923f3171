variable "name" {
  description = "Name of the application (and prefix of its security group)."
  type        = string
}

variable "release_label" {
  description = "EMR release, for example emr-8.1.0."
  type        = string
}

variable "architecture" {
  description = "X86_64 or ARM64."
  type        = string
}

variable "maximum_vcpu" {
  description = "Most vCPUs all jobs of the application may hold at once."
  type        = number
}

variable "maximum_memory_gb" {
  description = "Most memory (GB) all jobs of the application may hold at once."
  type        = number
}

variable "image_uri" {
  description = "Optional custom image (ECR URI); null for EMR's own."
  type        = string
  default     = null
}

variable "log_uri" {
  description = "s3:// URI job logs are written under."
  type        = string
}

variable "kms_key_arn" {
  description = "KMS key the job logs are encrypted with."
  type        = string
}

variable "vpc_id" {
  description = "VPC of the workers; null for no VPC access."
  type        = string
  default     = null
}

variable "subnet_ids" {
  description = "Subnets of the workers when vpc_id is set."
  type        = list(string)
  default     = []
}
