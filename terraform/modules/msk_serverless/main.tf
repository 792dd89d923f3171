# An MSK Serverless cluster for the `purchases` topic, made only when enable_msk_serverless is
# true. MSK Serverless authenticates clients with IAM only (SASL/IAM on port 9098, always TLS),
# so access is granted by the IAM policies in modules/iam, and its security group lets in only
# the client security groups given (the EMR workers').

resource "aws_security_group" "cluster" {
  #checkov:skip=CKV2_AWS_5:Attached to the MSK Serverless cluster's vpc_config below, a resource type checkov does not follow.
  name        = "${var.cluster_name}-msk"
  description = "MSK Serverless cluster ${var.cluster_name}: Kafka over SASL/IAM from the lakehouse's clients only"
  vpc_id      = var.vpc_id
}

# count, not for_each: the client security group ids are known only after apply.
resource "aws_vpc_security_group_ingress_rule" "from_clients" {
  count = length(var.client_security_group_ids)

  security_group_id            = aws_security_group.cluster.id
  description                  = "Kafka SASL/IAM (TLS) from a lakehouse client security group"
  ip_protocol                  = "tcp"
  from_port                    = 9098
  to_port                      = 9098
  referenced_security_group_id = var.client_security_group_ids[count.index]
}

resource "aws_vpc_security_group_egress_rule" "clients_to_cluster" {
  count = length(var.client_security_group_ids)

  security_group_id            = var.client_security_group_ids[count.index]
  description                  = "Kafka SASL/IAM (TLS) to the MSK Serverless cluster ${var.cluster_name}"
  ip_protocol                  = "tcp"
  from_port                    = 9098
  to_port                      = 9098
  referenced_security_group_id = aws_security_group.cluster.id
}

resource "aws_msk_serverless_cluster" "kafka" {
  cluster_name = var.cluster_name

  vpc_config {
    subnet_ids         = var.subnet_ids
    security_group_ids = [aws_security_group.cluster.id]
  }

  client_authentication {
    sasl {
      iam {
        enabled = true
      }
    }
  }
}
