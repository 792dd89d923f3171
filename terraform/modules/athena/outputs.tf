output "workgroup" {
  description = "Name of the workgroup."
  value       = aws_athena_workgroup.lakehouse.name
}

output "workgroup_arn" {
  description = "ARN of the workgroup."
  value       = aws_athena_workgroup.lakehouse.arn
}
