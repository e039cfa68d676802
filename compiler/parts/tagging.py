"""Tags every taggable resource of a finished template, so no part can forget them."""

from __future__ import annotations

from troposphere import Tags, Template
from troposphere.autoscaling import AutoScalingGroup
from troposphere.autoscaling import Tags as GroupTags
from troposphere.budgets import Budget, ResourceTag


def tag_everything(template: Template, tags: dict[str, str]) -> None:
    for resource in template.resources.values():
        expected = resource.props.get("Tags", (None,))[0]  # the type troposphere declares for Tags, if any
        if isinstance(resource, Budget):  # budgets spell tags differently
            resource.ResourceTags = [ResourceTag(Key=key, Value=value) for key, value in tags.items()]
        elif isinstance(resource, AutoScalingGroup):  # each tag says whether instances inherit it: they do
            resource.Tags = GroupTags(**tags)
        elif expected is dict:  # API Gateway v2 takes a map
            resource.Tags = dict(tags)
        elif expected is Tags or getattr(expected, "__name__", "") == "validate_tags_or_list":  # [{Key, Value}]
            resource.Tags = Tags(tags)
