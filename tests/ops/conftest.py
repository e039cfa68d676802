"""The operating commands run as real processes against a moto server whose change sets behave like
CloudFormation's (moto_changesets.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import boto3
import pytest

from tests.deploy import moto_compat
from tests.localaws import TEST_CREDENTIALS, MotoServer, aws_env

ROOT = Path(__file__).resolve().parents[2]
REGION = "us-east-1"  # every stack of the repo's deployment.yaml


class Moto(MotoServer):
    def __init__(self, certificate_dir: Path) -> None:
        super().__init__(command=[sys.executable, "-m", "tests.ops.moto_changesets"],
                         env={"PYTHONPATH": str(ROOT)})
        self.certificate_dir = certificate_dir

    def __enter__(self) -> "Moto":
        super().__enter__()
        self.import_certificate()
        return self

    def reset(self) -> None:
        super().reset()
        self.import_certificate()

    def import_certificate(self) -> None:
        cert, key = moto_compat.self_signed_certificate(self.certificate_dir, "mcp.example.com")
        self.client("acm").import_certificate(Certificate=cert.read_bytes(), PrivateKey=key.read_bytes())

    def client(self, service: str):
        return boto3.client(service, endpoint_url=self.endpoint, region_name=REGION,
                            aws_access_key_id=TEST_CREDENTIALS["AWS_ACCESS_KEY_ID"],
                            aws_secret_access_key=TEST_CREDENTIALS["AWS_SECRET_ACCESS_KEY"])

    def push_image(self, repository: str, tag: str) -> None:
        manifest = {"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                    "config": {"digest": "sha256:" + "0" * 64, "size": 1, "mediaType": "application/vnd.docker.container.image.v1+json"},
                    "layers": []}
        self.client("ecr").put_image(repositoryName=repository, imageManifest=json.dumps(manifest), imageTag=tag)

    def stacks(self) -> dict[str, str]:
        summaries = self.client("cloudformation").list_stacks()["StackSummaries"]
        return {s["StackName"]: s["StackStatus"] for s in summaries if s["StackStatus"] != "DELETE_COMPLETE"}


@pytest.fixture(scope="package")
def moto(tmp_path_factory):
    with Moto(tmp_path_factory.mktemp("tls")) as server:
        yield server


def cli(moto: Moto, *args: str, stdin: str = "", env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """`python -m compiler ARGS` in the repository, with the AWS CLI's settings pointing at moto."""
    return subprocess.run([sys.executable, "-m", "compiler", *args], cwd=ROOT,
                          env={**aws_env(moto.endpoint, REGION), **(env or {})},
                          input=stdin, capture_output=True, text=True, timeout=300)
