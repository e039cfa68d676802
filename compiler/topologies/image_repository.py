"""The ImageRepository stack: the ECR repository every Deployment of the file pulls the server image from."""

from __future__ import annotations

from troposphere import Template

from .. import naming
from ..model import ImageRepository
from ..parts import ecr, tagging


def build(repo: ImageRepository, tags_in_use: list[str] = ()) -> Template:
    """tags_in_use: the image tags of the file's deployments using this repository (never expired)."""
    t = Template(Description=f"mcpdeploy ImageRepository {repo.metadata.name}: ECR repository of the server image")
    repository = ecr.repository(t, repo.metadata.name, repo.spec, list(tags_in_use))
    ecr.exports(t, repository, stack=repo.metadata.name)
    tagging.tag_everything(t, naming.stack_tags(repo.metadata))
    return t
