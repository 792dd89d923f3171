variable "cluster_name" {
  description = "Name of the MSK Serverless cluster."
  type        = string
}

variable "vpc_id" {
  description = "VPC of the cluster."
  type        = string
  nullable    = false
}

variable "subnet_ids" {
  description = "Subnets of the cluster, in at least two Availability Zones."
  type        = list(string)

  validation {
    condition     = length(var.subnet_ids) >= 2
    error_message = "MSK Serverless needs subnet_ids in at least two Availability Zones."
  }
}

variable "client_security_group_ids" {
  description = "Security groups of the clients allowed to reach the cluster (the EMR workers')."
  type        = list(string)

  validation {
    condition     = length(var.client_security_group_ids) > 0
    error_message = "MSK Serverless needs a client: set enable_emr_serverless with vpc_id and subnet_ids, so the EMR workers' security group can reach the cluster."
  }
}
