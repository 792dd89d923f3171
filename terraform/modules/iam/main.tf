# Least-privilege roles, one per job, each granted only the buckets, prefixes, Glue databases and
# tables, Athena workgroup and Kafka topic that job touches:
#
#   bronze_job  Kafka topic -> bronze bucket                (EMR Serverless)
#   silver_job  Kafka topic -> silver tables; also backfill (reads bronze) and table maintenance
#   dbt         silver tables -> gold tables, through Athena (assumed by operators / CI)
#   ml_job      gold tables -> gold.purchase_anomalies, models (EMR Serverless or operators)
#
# No policy names a "*" resource: the only wildcards are object keys under a bucket prefix,
# tables inside one database and Kafka consumer groups inside one cluster.

locals {
  arn_prefix = "arn:${var.partition}"

  glue_catalog  = "${local.arn_prefix}:glue:${var.region}:${var.account_id}:catalog"
  glue_database = { for layer, name in var.database_names : layer => "${local.arn_prefix}:glue:${var.region}:${var.account_id}:database/${name}" }
  glue_tables   = { for layer, name in var.database_names : layer => "${local.arn_prefix}:glue:${var.region}:${var.account_id}:table/${name}/*" }

  bucket    = var.bucket_arns
  artifacts = { for kind, prefix in var.artifact_prefixes : kind => "${var.bucket_arns.artifacts}/${prefix}*" }

  glue_read  = ["glue:GetDatabase", "glue:GetTable", "glue:GetTables", "glue:GetPartition", "glue:GetPartitions", "glue:BatchGetPartition"]
  glue_write = ["glue:CreateTable", "glue:UpdateTable", "glue:DeleteTable"]
  s3_list    = ["s3:ListBucket", "s3:GetBucketLocation", "s3:ListBucketMultipartUploads"]
  s3_read    = ["s3:GetObject", "s3:GetObjectVersion"]
  s3_write   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"]
  kms_use    = ["kms:Decrypt", "kms:GenerateDataKey"]

  # Glue checks the catalog, the database and the table ARN of a table call.
  glue_layer = { for layer in keys(var.database_names) : layer => [local.glue_catalog, local.glue_database[layer], local.glue_tables[layer]] }

  kms_statement = { sid = "UseTheLakehouseKey", actions = local.kms_use, resources = [var.kms_key_arn] }

  # EMR Serverless writes a job's logs to S3 as the job's role.
  emr_statements = [
    { sid = "ReadJobCode", actions = local.s3_read, resources = [local.artifacts.code] },
    { sid = "WriteJobLogs", actions = ["s3:PutObject"], resources = [local.artifacts.emr_logs] },
  ]

  msk = var.msk_cluster == null ? null : {
    cluster = var.msk_cluster.arn
    topics  = [for topic in var.kafka_topics : "${local.arn_prefix}:kafka:${var.region}:${var.account_id}:topic/${var.msk_cluster.name}/${var.msk_cluster.uuid}/${topic}"]
    groups  = "${local.arn_prefix}:kafka:${var.region}:${var.account_id}:group/${var.msk_cluster.name}/${var.msk_cluster.uuid}/*"
  }

  # Spark's Kafka source: read the streams' topics, with consumer groups of its own naming.
  kafka_read_statements = local.msk == null ? [] : [
    { sid = "ConnectToKafka", actions = ["kafka-cluster:Connect", "kafka-cluster:DescribeCluster"], resources = [local.msk.cluster] },
    { sid = "ReadTheTopics", actions = ["kafka-cluster:DescribeTopic", "kafka-cluster:ReadData"], resources = local.msk.topics },
    { sid = "UseConsumerGroups", actions = ["kafka-cluster:DescribeGroup", "kafka-cluster:AlterGroup"], resources = [local.msk.groups] },
  ]

  roles = {
    bronze_job = {
      description = "bronze streaming job: Kafka topic -> bronze bucket"
      trust       = "emr"
      statements = concat(local.kafka_read_statements, local.emr_statements, [
        { sid = "ListBuckets", actions = local.s3_list, resources = [local.bucket.bronze, local.bucket.artifacts] },
        { sid = "WriteBronze", actions = local.s3_write, resources = ["${local.bucket.bronze}/*"] },
        { sid = "KeepCheckpoints", actions = local.s3_write, resources = ["${local.artifacts.checkpoints}bronze*"] },
        local.kms_statement,
      ])
    }
    silver_job = {
      description = "silver streaming job, backfill and silver maintenance: Kafka topic (or bronze) -> silver tables"
      trust       = "emr"
      statements = concat(local.kafka_read_statements, local.emr_statements, [
        { sid = "ListBuckets", actions = local.s3_list, resources = [local.bucket.bronze, local.bucket.silver, local.bucket.artifacts] },
        { sid = "ReadBronzeForBackfill", actions = local.s3_read, resources = ["${local.bucket.bronze}/*"] },
        { sid = "WriteSilver", actions = local.s3_write, resources = ["${local.bucket.silver}/*"] },
        { sid = "KeepCheckpoints", actions = local.s3_write, resources = ["${local.artifacts.checkpoints}silver*"] },
        { sid = "ReadSilverCatalog", actions = local.glue_read, resources = local.glue_layer.silver },
        { sid = "WriteSilverCatalog", actions = local.glue_write, resources = local.glue_layer.silver },
        local.kms_statement,
      ])
    }
    dbt = {
      description = "dbt on Athena: silver tables -> gold tables"
      trust       = "operators"
      statements = [
        {
          sid = "RunQueriesInTheWorkgroup"
          actions = [
            "athena:StartQueryExecution", "athena:StopQueryExecution", "athena:GetQueryExecution",
            "athena:BatchGetQueryExecution", "athena:GetQueryResults", "athena:GetQueryResultsStream",
            "athena:GetQueryRuntimeStatistics", "athena:ListQueryExecutions", "athena:GetWorkGroup",
          ]
          resources = [var.athena_workgroup_arn]
        },
        {
          sid       = "ReadTheGlueDataCatalogThroughAthena"
          actions   = ["athena:GetDataCatalog", "athena:GetDatabase", "athena:ListDatabases", "athena:GetTableMetadata", "athena:ListTableMetadata"]
          resources = ["${local.arn_prefix}:athena:${var.region}:${var.account_id}:datacatalog/AwsDataCatalog"]
        },
        { sid = "ListBuckets", actions = local.s3_list, resources = [local.bucket.silver, local.bucket.gold, local.bucket.athena_results] },
        { sid = "ReadSilver", actions = local.s3_read, resources = ["${local.bucket.silver}/*"] },
        { sid = "WriteGoldAndQueryResults", actions = local.s3_write, resources = ["${local.bucket.gold}/*", "${local.bucket.athena_results}/*"] },
        { sid = "ReadCatalog", actions = local.glue_read, resources = concat(local.glue_layer.silver, local.glue_layer.gold, local.glue_layer.serving) },
        # dbt-athena lists schemas; GetDatabases is checked against every database it returns.
        # Database names and locations only: tables stay limited to silver and gold above.
        { sid = "ListDatabases", actions = ["glue:GetDatabases"], resources = [local.glue_catalog, "${local.arn_prefix}:glue:${var.region}:${var.account_id}:database/*"] },
        { sid = "WriteGoldCatalog", actions = local.glue_write, resources = local.glue_layer.gold },
        { sid = "WriteServingViews", actions = local.glue_write, resources = local.glue_layer.serving },
        local.kms_statement,
      ]
    }
    ml_job = {
      description = "anomaly detection: gold tables -> gold.${var.ml_table}, fitted models"
      trust       = "emr_and_operators"
      statements = concat(local.emr_statements, [
        { sid = "ListBuckets", actions = local.s3_list, resources = [local.bucket.gold, local.bucket.artifacts] },
        { sid = "ReadGold", actions = local.s3_read, resources = ["${local.bucket.gold}/*"] },
        # The table lives where Iceberg puts a new table: <gold database location>/<table>.
        { sid = "WriteTheAnomalyTable", actions = local.s3_write, resources = ["${local.bucket.gold}/${var.ml_table}/*"] },
        { sid = "KeepModels", actions = local.s3_write, resources = [local.artifacts.models] },
        { sid = "ReadGoldCatalog", actions = local.glue_read, resources = local.glue_layer.gold },
        {
          sid       = "WriteTheAnomalyTableCatalog"
          actions   = local.glue_write
          resources = [local.glue_catalog, local.glue_database.gold, "${local.arn_prefix}:glue:${var.region}:${var.account_id}:table/${var.database_names.gold}/${var.ml_table}"]
        },
        local.kms_statement,
      ])
    }
  }

  operators = length(var.operator_principal_arns) > 0 ? var.operator_principal_arns : ["${local.arn_prefix}:iam::${var.account_id}:root"]
}

data "aws_iam_policy_document" "trust" {
  for_each = local.roles

  dynamic "statement" {
    for_each = contains(["emr", "emr_and_operators"], each.value.trust) ? [1] : []
    content {
      sid     = "EmrServerlessJobsOfThisAccount"
      actions = ["sts:AssumeRole"]
      principals {
        type        = "Service"
        identifiers = ["emr-serverless.amazonaws.com"]
      }
      condition {
        test     = "StringEquals"
        variable = "aws:SourceAccount"
        values   = [var.account_id]
      }
      condition {
        test     = "ArnLike"
        variable = "aws:SourceArn"
        values   = ["${local.arn_prefix}:emr-serverless:${var.region}:${var.account_id}:/applications/*"]
      }
    }
  }

  dynamic "statement" {
    for_each = contains(["operators", "emr_and_operators"], each.value.trust) ? [1] : []
    content {
      sid     = "Operators"
      actions = ["sts:AssumeRole"]
      principals {
        type        = "AWS"
        identifiers = local.operators
      }
    }
  }
}

data "aws_iam_policy_document" "permissions" {
  for_each = local.roles

  dynamic "statement" {
    for_each = each.value.statements
    content {
      sid       = statement.value.sid
      actions   = statement.value.actions
      resources = statement.value.resources
    }
  }
}

resource "aws_iam_role" "job" {
  for_each = local.roles

  name                 = "${var.name_prefix}-${replace(each.key, "_", "-")}"
  description          = "${var.name_prefix}: ${each.value.description}"
  assume_role_policy   = data.aws_iam_policy_document.trust[each.key].json
  max_session_duration = 3600
}

resource "aws_iam_role_policy" "job" {
  for_each = local.roles

  name   = "least-privilege"
  role   = aws_iam_role.job[each.key].id
  policy = data.aws_iam_policy_document.permissions[each.key].json
}
