output "role_arns" {
  description = "ARN of each job's role: bronze_job, silver_job, dbt, ml_job."
  value       = { for job, role in aws_iam_role.job : job => role.arn }
}
