# The Athena workgroup dbt (the `athena` target) and the analyses run in. It enforces its own
# settings over the client's: results always go to the results bucket, encrypted with the
# lakehouse key, and a query that would scan more than the cutoff is cancelled.

resource "aws_athena_workgroup" "lakehouse" {
  name          = var.workgroup
  description   = "purchases lakehouse: dbt builds and analyses"
  force_destroy = true # saved queries and history only; the data lives in S3 and Glue

  configuration {
    enforce_workgroup_configuration    = true
    publish_cloudwatch_metrics_enabled = true
    bytes_scanned_cutoff_per_query     = var.bytes_scanned_cutoff_per_query

    engine_version {
      selected_engine_version = "Athena engine version 3"
    }

    result_configuration {
      output_location = var.results_uri

      encryption_configuration {
        encryption_option = "SSE_KMS"
        kms_key_arn       = var.kms_key_arn
      }
    }
  }
}
