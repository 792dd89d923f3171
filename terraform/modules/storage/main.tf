# S3 for the lakehouse: one bucket per layer (bronze, silver, gold), one for Athena results, one
# for artifacts (job code, jars, checkpoints, models, EMR logs), and one for the S3 server access
# logs of all of them. Every data bucket: SSE-KMS with the lakehouse key (S3 Bucket Keys on, so
# KMS is called per bucket key, not per object), versioning, no public access, ACLs disabled,
# TLS-only access, access logging, and lifecycle rules.

locals {
  # Layer -> the lifecycle rules that only that bucket has (every bucket also gets `housekeeping`).
  data_buckets = {
    bronze = [{
      # Bronze is written once and read again only by a backfill: cheaper storage as it ages.
      # Glacier Instant Retrieval still answers in milliseconds, so a backfill needs no restore.
      # (S3 leaves objects under 128 KiB, such as Spark's _spark_metadata log, where they are.)
      id              = "bronze-to-cheaper-storage"
      prefix          = ""
      expiration_days = null
      transitions = [
        { days = var.bronze_infrequent_access_after_days, storage_class = "STANDARD_IA" },
        { days = var.bronze_glacier_after_days, storage_class = "GLACIER_IR" },
      ]
    }]
    silver = []
    gold   = []
    athena_results = [{
      id              = "expire-query-results"
      prefix          = ""
      expiration_days = var.athena_results_expiration_days
      transitions     = []
    }]
    artifacts = [{
      id              = "expire-emr-logs"
      prefix          = local.artifact_prefixes.emr_logs
      expiration_days = var.log_expiration_days
      transitions     = []
    }]
  }

  bucket_names = {
    for layer in keys(local.data_buckets) :
    layer => "${var.name_prefix}-${replace(layer, "_", "-")}-${var.account_id}-${var.region}"
  }

  # What the artifacts bucket holds, one prefix each: the IAM policies grant per prefix.
  artifact_prefixes = {
    code        = "code/"        # entry points, the project's Python package and environment, jars
    checkpoints = "checkpoints/" # Spark streaming checkpoints, one folder per job
    models      = "models/"      # fitted anomaly models
    emr_logs    = "emr-logs/"    # EMR Serverless job logs
  }

  # Every bucket, the access-log one included: ownership, public access and versioning are alike.
  all_buckets     = merge(aws_s3_bucket.data, { access_logs = aws_s3_bucket.access_logs })
  all_bucket_ids  = { for name, bucket in local.all_buckets : name => bucket.id }
  all_bucket_arns = { for name, bucket in local.all_buckets : name => bucket.arn }
}

# ---- the KMS key every bucket, the Athena results and the EMR logs are encrypted with

data "aws_iam_policy_document" "kms_key" {
  #checkov:skip=CKV_AWS_111:A key policy applies to its own key only: Resource "*" in it means this key, and the account root delegates to IAM, as AWS's default key policy does.
  #checkov:skip=CKV_AWS_356:A key policy applies to its own key only: Resource "*" in it means this key.
  #checkov:skip=CKV_AWS_109:A key policy applies to its own key only: the account root must keep kms:PutKeyPolicy on it, or the key becomes unmanageable.
  # The account administers and uses the key through IAM: the roles in modules/iam each get
  # kms:Decrypt / kms:GenerateDataKey on this key only.
  statement {
    sid       = "AccountAdministersTheKeyThroughIam"
    actions   = ["kms:*"]
    resources = ["*"] # in a key policy, "*" means this key
    principals {
      type        = "AWS"
      identifiers = ["arn:${data.aws_partition.current.partition}:iam::${var.account_id}:root"]
    }
  }
}

data "aws_partition" "current" {}

resource "aws_kms_key" "lakehouse" {
  description             = "${var.name_prefix}: S3 buckets, Athena results, EMR Serverless logs"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.kms_key.json
}

resource "aws_kms_alias" "lakehouse" {
  name          = "alias/${var.name_prefix}"
  target_key_id = aws_kms_key.lakehouse.key_id
}

# ---- the data buckets

resource "aws_s3_bucket" "data" {
  #checkov:skip=CKV_AWS_144:Cross-region replication doubles storage and needs a bucket and key in a second region; bronze can be replayed from Kafka within its retention, so replication is a disaster-recovery choice left to the deployer.
  #checkov:skip=CKV2_AWS_62:Nothing consumes S3 event notifications: the jobs find new data through Kafka offsets, Spark's file-sink log and Iceberg snapshots.
  for_each = local.bucket_names

  bucket        = each.value
  force_destroy = var.force_destroy
}

resource "aws_s3_bucket_ownership_controls" "every" {
  for_each = local.all_bucket_ids

  bucket = each.value
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "every" {
  for_each = local.all_bucket_ids

  bucket                  = each.value
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "every" {
  for_each = local.all_bucket_ids

  bucket = each.value
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "data" {
  for_each = aws_s3_bucket.data

  bucket = each.value.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.lakehouse.arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_logging" "data" {
  for_each = aws_s3_bucket.data

  bucket        = each.value.id
  target_bucket = aws_s3_bucket.access_logs.id
  target_prefix = "${each.key}/"
}

resource "aws_s3_bucket_lifecycle_configuration" "data" {
  for_each = aws_s3_bucket.data

  bucket = each.value.id

  rule {
    id     = "housekeeping"
    status = "Enabled"
    filter {}

    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_expiration_days
    }
    expiration {
      expired_object_delete_marker = true
    }
  }

  dynamic "rule" {
    for_each = local.data_buckets[each.key]
    content {
      id     = rule.value.id
      status = "Enabled"
      filter {
        prefix = rule.value.prefix
      }

      dynamic "transition" {
        for_each = rule.value.transitions
        content {
          days          = transition.value.days
          storage_class = transition.value.storage_class
        }
      }

      dynamic "expiration" {
        for_each = rule.value.expiration_days == null ? [] : [rule.value.expiration_days]
        content {
          days = expiration.value
        }
      }
    }
  }

  lifecycle {
    precondition {
      condition     = var.bronze_glacier_after_days >= var.bronze_infrequent_access_after_days + 30
      error_message = "bronze_glacier_after_days must be at least 30 days after bronze_infrequent_access_after_days (Standard-IA's minimum storage duration)."
    }
  }

  # A lifecycle rule set on a bucket without versioning set up first is rejected.
  depends_on = [aws_s3_bucket_versioning.every]
}

data "aws_iam_policy_document" "tls_only" {
  for_each = local.all_bucket_arns

  # Refuse any request over plain HTTP, and any over TLS older than 1.2.
  dynamic "statement" {
    for_each = {
      DenyRequestsWithoutTls = { test = "Bool", variable = "aws:SecureTransport", value = "false" }
      DenyTlsOlderThan12     = { test = "NumericLessThan", variable = "s3:TlsVersion", value = "1.2" }
    }
    content {
      sid       = statement.key
      effect    = "Deny"
      actions   = ["s3:*"]
      resources = [each.value, "${each.value}/*"]
      principals {
        type        = "*"
        identifiers = ["*"]
      }
      condition {
        test     = statement.value.test
        variable = statement.value.variable
        values   = [statement.value.value]
      }
    }
  }
}

resource "aws_s3_bucket_policy" "data" {
  for_each = aws_s3_bucket.data

  bucket = each.value.id
  policy = data.aws_iam_policy_document.tls_only[each.key].json

  # Putting a policy before the public access block is in place can be refused.
  depends_on = [aws_s3_bucket_public_access_block.every]
}

# ---- the bucket the S3 server access logs of the data buckets go to

resource "aws_s3_bucket" "access_logs" {
  #checkov:skip=CKV_AWS_18:This is the access-log bucket itself; logging it into itself would loop.
  #checkov:skip=CKV_AWS_145:S3 server access logging delivers only to buckets encrypted with SSE-S3 (AES256), not SSE-KMS.
  #checkov:skip=CKV_AWS_144:Access logs are kept for audit in the region they describe; replicating them is a disaster-recovery choice left to the deployer.
  #checkov:skip=CKV2_AWS_62:Nothing consumes event notifications for access logs.
  bucket        = "${var.name_prefix}-access-logs-${var.account_id}-${var.region}"
  force_destroy = var.force_destroy
}

resource "aws_s3_bucket_server_side_encryption_configuration" "access_logs" {
  bucket = aws_s3_bucket.access_logs.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "access_logs" {
  bucket = aws_s3_bucket.access_logs.id

  rule {
    id     = "expire-access-logs"
    status = "Enabled"
    filter {}

    expiration {
      days = var.log_expiration_days
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
    noncurrent_version_expiration {
      noncurrent_days = 1
    }
  }

  depends_on = [aws_s3_bucket_versioning.every]
}

data "aws_iam_policy_document" "access_logs" {
  source_policy_documents = [data.aws_iam_policy_document.tls_only["access_logs"].json]

  statement {
    sid       = "S3ServerAccessLogsFromTheDataBuckets"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.access_logs.arn}/*"]
    principals {
      type        = "Service"
      identifiers = ["logging.s3.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [var.account_id]
    }
    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = [for bucket in aws_s3_bucket.data : bucket.arn]
    }
  }
}

resource "aws_s3_bucket_policy" "access_logs" {
  bucket     = aws_s3_bucket.access_logs.id
  policy     = data.aws_iam_policy_document.access_logs.json
  depends_on = [aws_s3_bucket_public_access_block.every]
}
