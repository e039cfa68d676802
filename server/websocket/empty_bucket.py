"""Custom::EmptyBucket: on Delete, removes every object of a bucket whose data is disposable, so CloudFormation
can delete the bucket (it refuses a bucket that holds objects); Create and Update change nothing. Always answers
CloudFormation at ResponseURL, a failure too, so a stack never waits an hour for an answer."""
import json
import urllib.request

import boto3


def handler(event, context):
    bucket = event["ResourceProperties"]["Bucket"]
    status, reason = "SUCCESS", ""
    try:
        if event["RequestType"] == "Delete":
            empty(boto3.client("s3"), bucket)
    except Exception as error:  # noqa: BLE001 - reported to CloudFormation, which shows it in the events
        if "NoSuchBucket" not in str(error):  # already gone: nothing to empty
            status, reason = "FAILED", f"{type(error).__name__}: {error}"
    # Named after the bucket: a replaced bucket gets a new ID, so CloudFormation deletes (empties) the old one.
    answer(event, status, reason, "empty-" + bucket)


def empty(s3, bucket):
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
        if keys:
            s3.delete_objects(Bucket=bucket, Delete={"Objects": keys, "Quiet": True})


def answer(event, status, reason, physical_id):
    body = json.dumps({
        "Status": status, "Reason": reason[:1000] or status, "PhysicalResourceId": physical_id,
        "StackId": event["StackId"], "RequestId": event["RequestId"], "LogicalResourceId": event["LogicalResourceId"],
    }).encode()
    print(json.dumps({"event": "empty_bucket", "request": event["RequestType"], "status": status, "reason": reason}))
    # The URL is presigned for an empty Content-Type.
    request = urllib.request.Request(event["ResponseURL"], data=body, method="PUT",
                                     headers={"Content-Type": "", "Content-Length": str(len(body))})
    urllib.request.urlopen(request, timeout=30).close()
