"""Invoice report engine: the Lambda function that serverless-rollout/rollout.md deploys."""

import json


def handler(event, _context):
    if event.get("action") == "health_check":
        return {"statusCode": 200, "body": json.dumps({"status": "healthy"})}
    return {"statusCode": 400, "body": json.dumps({"error": "unknown action"})}
