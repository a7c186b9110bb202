# Loyalty platform, staging. Applied by ../rollout.md (Phase 1).
terraform {
  required_providers {
    aws = { source = "hashicorp/aws", version = "~> 5.0" }
  }
}

resource "aws_s3_bucket" "web" {
  bucket = "loyalty-staging-web"
}

resource "aws_dynamodb_table" "feature_flags" {
  name         = "loyalty-staging-feature-flags"
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "key"
}

resource "aws_lambda_function" "api" {
  function_name = "loyalty-staging-api"
  runtime       = "python3.11"
  handler       = "app.handler"
  filename      = "api.zip"
}

resource "aws_cloudwatch_metric_alarm" "api_errors" {
  alarm_name          = "loyalty-staging-api-errors"
  metric_name         = "Errors"
  namespace           = "AWS/Lambda"
  threshold           = 5
  comparison_operator = "GreaterThanThreshold"
  evaluation_periods  = 1
  period              = 300
  statistic           = "Sum"
}

output "web_bucket" {
  value = aws_s3_bucket.web.bucket
}

output "api_function" {
  value = aws_lambda_function.api.function_name
}

output "flags_table" {
  value = aws_dynamodb_table.feature_flags.name
}
