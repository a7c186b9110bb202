# Invoice reports, staging. Applied by ../../rollout.md.
terraform {
  required_providers {
    aws = { source = "hashicorp/aws", version = "~> 5.0" }
  }
}

variable "reporting_layer_arn" {
  type        = string
  description = "Layer version published in Step 2 of the rollout"
}

resource "aws_iam_role" "report_engine" {
  name               = "invoice-reports-staging-engine"
  assume_role_policy = file("${path.module}/lambda-trust.json")
}

resource "aws_dynamodb_table" "reports" {
  name         = "invoice-reports-staging"
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "customer_id"
  range_key    = "id"
}

resource "aws_cloudwatch_log_group" "report_engine" {
  name              = "/aws/lambda/invoice-reports-staging-engine"
  retention_in_days = 14
}

resource "aws_lambda_function" "report_engine" {
  function_name = "invoice-reports-staging-engine"
  role          = aws_iam_role.report_engine.arn
  runtime       = "python3.11"
  handler       = "handler.handler"
  filename      = "../../build/report-engine.zip"
  layers        = [var.reporting_layer_arn]
}

output "function_name" {
  value = aws_lambda_function.report_engine.function_name
}

output "reports_table" {
  value = aws_dynamodb_table.reports.name
}
