"""The server image: the ImageTag parameter and the repository exported by the ImageRepository stack."""

from __future__ import annotations

from troposphere import ImportValue, Parameter, Sub, Template

from .. import naming


def tag_parameter(t: Template, default: str) -> Parameter:
    """Deploying a new image = overriding this one parameter (`--parameter-overrides ImageTag=1.5.0`)."""
    return t.add_parameter(Parameter(
        naming.IMAGE_TAG, Type="String", Default=default, AllowedPattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$",
        Description="Tag of the server image in the ECR repository.",
    ))


def uri(repository_stack: str, tag: Parameter) -> Sub:
    repository = ImportValue(naming.repository_uri_export(repository_stack))
    return Sub(f"${{Repository}}:${{{tag.title}}}", Repository=repository)


def repository_arn(repository_stack: str) -> ImportValue:
    return ImportValue(naming.repository_arn_export(repository_stack))
