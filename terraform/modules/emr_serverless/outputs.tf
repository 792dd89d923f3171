output "application_id" {
  description = "Id of the EMR Serverless application (start-job-run --application-id)."
  value       = aws_emrserverless_application.spark.id
}

output "application_arn" {
  description = "ARN of the EMR Serverless application."
  value       = aws_emrserverless_application.spark.arn
}

output "security_group_id" {
  description = "Security group of the workers, or null outside a VPC."
  value       = try(aws_security_group.workers[0].id, null)
}
