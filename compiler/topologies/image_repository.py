"""The ImageRepository stack: the ECR repository every Deployment of the file pulls the server image from."""

from __future__ import annotations

from troposphere import Template

from .. import naming
from ..model import ImageRepository
from ..parts import ecr, tagging, websocket_api


def build(repo: ImageRepository, tags_in_use: list[str] = (), serves_websocket: bool = False) -> Template:
    """tags_in_use: the image tags of the file's deployments using this repository (never expired).
    serves_websocket: a websocket deployment uses it, so (unless spec.apiGatewayAccount says otherwise) this stack
    holds the region's API Gateway account setting its access logs need: one stack per region, not one per
    websocket deployment overwriting each other's."""
    t = Template(Description=f"mcpdeploy ImageRepository {repo.metadata.name}: ECR repository of the server image")
    repository = ecr.repository(t, repo.metadata.name, repo.spec, list(tags_in_use))
    manage = repo.spec.api_gateway_account
    if manage or (manage is None and serves_websocket):
        websocket_api.logging_account(t)
    ecr.exports(t, repository, stack=repo.metadata.name)
    tagging.tag_everything(t, naming.stack_tags(repo.metadata))
    return t
