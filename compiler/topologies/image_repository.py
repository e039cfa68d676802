"""The ImageRepository stack: the ECR repository every Deployment of the file pulls the server image from."""

from __future__ import annotations

from troposphere import Template

from .. import naming
from ..model import ImageRepository
from ..parts import ecr, tagging


def build(repo: ImageRepository) -> Template:
    t = Template(Description=f"mcpdeploy ImageRepository {repo.metadata.name}: ECR repository of the server image")
    repository = ecr.repository(t, repo.metadata.name, repo.spec)
    ecr.exports(t, repository, stack=repo.metadata.name)
    tagging.tag_everything(t, naming.stack_tags(repo.metadata))
    return t
