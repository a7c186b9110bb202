# Audit trail, staging infrastructure. Applied by ../../rollout.md.
terraform {
  required_providers {
    aws = { source = "hashicorp/aws", version = "~> 5.0" }
  }
}

variable "environment" {
  type = string
}

variable "alert_email" {
  type    = string
  default = ""
}

resource "aws_kms_key" "main" {
  description         = "audit-trail staging encryption key"
  enable_key_rotation = true
}

resource "aws_dynamodb_table" "events" {
  name         = "audit-trail-staging-events"
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "pk"
  range_key    = "sk"
}

resource "aws_dynamodb_table" "consent" {
  name         = "audit-trail-staging-consent"
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "org_id"
}

resource "aws_ssm_parameter" "signing_nonce" {
  name   = "/audit-trail/staging/signing_nonce_v1"
  type   = "SecureString"
  key_id = aws_kms_key.main.id
}

resource "aws_sns_topic" "ops_alerts" {
  name = "audit-trail-staging-ops-alerts"
}

resource "aws_cloudwatch_metric_alarm" "events_write_throttle" {
  alarm_name          = "audit-trail-staging-events-write-throttle"
  metric_name         = "WriteThrottleEvents"
  namespace           = "AWS/DynamoDB"
  threshold           = 10
  comparison_operator = "GreaterThanThreshold"
  evaluation_periods  = 1
  period              = 300
  statistic           = "Sum"
}

resource "aws_cloudwatch_metric_alarm" "nonce_failures" {
  alarm_name          = "audit-trail-staging-nonce-failures"
  metric_name         = "ParameterAccessFailures"
  namespace           = "AuditTrail"
  threshold           = 5
  comparison_operator = "GreaterThanThreshold"
  evaluation_periods  = 1
  period              = 300
  statistic           = "Sum"
}

output "events_table_name" {
  value = aws_dynamodb_table.events.name
}

output "nonce_parameter_name" {
  value = aws_ssm_parameter.signing_nonce.name
}

output "sns_topic_arn" {
  value = aws_sns_topic.ops_alerts.arn
}
