# Versions are pinned: the AWS provider exactly (there is no .terraform.lock.hcl in the repo yet:
# `terraform init` writes one on the first deploy; commit it then), Terraform / OpenTofu by floor.
terraform {
  required_version = ">= 1.6.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "6.56.0"
    }
  }
}
