output "cluster" {
  description = "What the IAM policies and the jobs need: name, uuid, ARN and the SASL/IAM bootstrap servers."
  value = {
    name                       = aws_msk_serverless_cluster.kafka.cluster_name
    uuid                       = aws_msk_serverless_cluster.kafka.cluster_uuid
    arn                        = aws_msk_serverless_cluster.kafka.arn
    bootstrap_brokers_sasl_iam = aws_msk_serverless_cluster.kafka.bootstrap_brokers_sasl_iam
  }
}
