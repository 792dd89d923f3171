provider "aws" {
  region = var.region

  default_tags {
    tags = merge(var.tags, {
      project    = var.name_prefix
      managed-by = "terraform"
    })
  }
}

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}
