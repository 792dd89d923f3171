# The EMR Serverless Spark application the bronze and silver streams, the maintenance job and the
# ML job run on (docs/aws.md has the exact start-job-run calls). It bills only while a job runs,
# stops itself when idle, and its maximum capacity caps what all its jobs may hold at once. In a
# VPC its workers get a security group that reaches AWS APIs over HTTPS (and MSK, when the MSK
# module adds its rule).

resource "aws_security_group" "workers" {
  #checkov:skip=CKV2_AWS_5:Attached to the EMR Serverless application's network_configuration below, a resource type checkov does not follow.
  count = var.vpc_id == null ? 0 : 1

  name        = "${var.name}-emr-workers"
  description = "EMR Serverless workers of ${var.name}: outbound HTTPS to AWS APIs, outbound Kafka to MSK"
  vpc_id      = var.vpc_id
}

resource "aws_vpc_security_group_egress_rule" "https" {
  count = var.vpc_id == null ? 0 : 1

  security_group_id = aws_security_group.workers[0].id
  description       = "HTTPS to AWS APIs (S3, Glue, KMS, STS) through the VPC's endpoints or NAT gateway"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = "0.0.0.0/0"
}

resource "aws_emrserverless_application" "spark" {
  name          = var.name
  release_label = var.release_label
  type          = "spark"
  architecture  = var.architecture

  maximum_capacity {
    cpu    = "${var.maximum_vcpu} vCPU"
    memory = "${var.maximum_memory_gb} GB"
  }

  auto_start_configuration {
    enabled = true
  }

  auto_stop_configuration {
    enabled              = true
    idle_timeout_minutes = 15
  }

  monitoring_configuration {
    s3_monitoring_configuration {
      log_uri            = var.log_uri
      encryption_key_arn = var.kms_key_arn
    }
  }

  dynamic "network_configuration" {
    for_each = var.vpc_id == null ? [] : [var.subnet_ids]
    content {
      subnet_ids         = network_configuration.value
      security_group_ids = [aws_security_group.workers[0].id]
    }
  }

  dynamic "image_configuration" {
    for_each = var.image_uri == null ? [] : [var.image_uri]
    content {
      image_uri = image_configuration.value
    }
  }
}
