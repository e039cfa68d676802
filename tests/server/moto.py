"""A real moto server on loopback (the `moto_server` of the dev dependencies) that checks signatures.

With INITIAL_NO_AUTH_ACTION_COUNT set, moto lets the first few requests through unsigned (the set-up
below: an IAM user, its key and policy, the bucket) and from then on verifies every request's SigV4
signature against that user's secret key, as S3 would.
"""

from __future__ import annotations

import json

from tests import localaws

REGION = "us-east-1"
SETUP_ACTIONS = 4  # create_user, create_access_key, put_user_policy, create_bucket
WRITE_AND_READ_AUDIO = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": ["s3:PutObject", "s3:GetObject"], "Resource": "*"}],
}


class MotoServer(localaws.MotoServer):
    def __init__(self) -> None:
        super().__init__(env={"INITIAL_NO_AUTH_ACTION_COUNT": str(SETUP_ACTIONS)})
        self.access_key: dict[str, str] = {}

    @property
    def url(self) -> str:
        return self.endpoint

    def set_up(self, bucket: str) -> dict[str, str]:
        """Create a user allowed to put and get objects, and the bucket; return that user's AWS environment."""
        iam = self.client("iam", "AKIAUNSIGNEDSETUP000", "unused")
        iam.create_user(UserName="mcp-server")
        key = iam.create_access_key(UserName="mcp-server")["AccessKey"]
        iam.put_user_policy(UserName="mcp-server", PolicyName="audio", PolicyDocument=json.dumps(WRITE_AND_READ_AUDIO))
        self.access_key = {"id": key["AccessKeyId"], "secret": key["SecretAccessKey"]}
        self.s3().create_bucket(Bucket=bucket)
        return self.environment()

    def environment(self, secret: str | None = None) -> dict[str, str]:
        return {
            "AWS_ACCESS_KEY_ID": self.access_key["id"],
            "AWS_SECRET_ACCESS_KEY": secret or self.access_key["secret"],
            "AWS_DEFAULT_REGION": REGION,
            "AWS_ENDPOINT_URL": self.url,
        }

    def s3(self):
        return self.client("s3", self.access_key.get("id", "AKIAUNSIGNEDSETUP000"), self.access_key.get("secret", "x"))

    def client(self, service: str, key_id: str, secret: str):
        import boto3

        return boto3.client(service, endpoint_url=self.url, region_name=REGION,
                            aws_access_key_id=key_id, aws_secret_access_key=secret)
