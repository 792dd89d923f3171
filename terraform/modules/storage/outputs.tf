output "bucket_names" {
  description = "Bucket name of each layer: bronze, silver, gold, athena_results, artifacts; and access_logs."
  value = merge(
    { for layer, bucket in aws_s3_bucket.data : layer => bucket.id },
    { access_logs = aws_s3_bucket.access_logs.id },
  )
}

output "bucket_arns" {
  description = "Bucket ARN of each layer: bronze, silver, gold, athena_results, artifacts."
  value       = { for layer, bucket in aws_s3_bucket.data : layer => bucket.arn }
}

output "uris" {
  description = "s3:// URI of each layer's bucket, with a trailing slash."
  value       = { for layer, bucket in aws_s3_bucket.data : layer => "s3://${bucket.id}/" }
}

output "athena_results_uri" {
  description = "Where Athena writes query results (the workgroup enforces it)."
  value       = "s3://${aws_s3_bucket.data["athena_results"].id}/results/"
}

output "artifact_prefixes" {
  description = "Prefix of each kind of artifact in the artifacts bucket: code, checkpoints, models, emr_logs."
  value       = local.artifact_prefixes
}

output "artifact_uris" {
  description = "s3:// URI of each kind of artifact: code, checkpoints, models, emr_logs."
  value       = { for kind, prefix in local.artifact_prefixes : kind => "s3://${aws_s3_bucket.data["artifacts"].id}/${prefix}" }
}

output "kms_key_arn" {
  description = "ARN of the lakehouse KMS key."
  value       = aws_kms_key.lakehouse.arn
}
