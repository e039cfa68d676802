"""Tags every taggable resource of a finished template, so no part can forget them."""

from __future__ import annotations

from troposphere import Tags, Template
from troposphere.autoscaling import AutoScalingGroup
from troposphere.autoscaling import Tags as GroupTags
from troposphere.budgets import Budget, ResourceTag


def tag_everything(template: Template, tags: dict[str, str]) -> None:
    for resource in template.resources.values():
        if isinstance(resource, Budget):  # budgets spell tags differently
            resource.ResourceTags = [ResourceTag(Key=key, Value=value) for key, value in tags.items()]
        elif isinstance(resource, AutoScalingGroup):  # each tag says whether instances inherit it: they do
            resource.Tags = GroupTags(**tags)
        elif resource.props.get("Tags", (None,))[0] is dict:  # API Gateway v2 takes a map
            resource.Tags = dict(tags)
        elif _takes_key_value_list(resource):
            resource.Tags = Tags(tags)


def _takes_key_value_list(resource) -> bool:
    """True for resources whose Tags is the usual [{Key, Value}] list (a few take a map instead)."""
    expected = resource.props.get("Tags", (None,))[0]
    return expected is Tags or getattr(expected, "__name__", "") == "validate_tags_or_list"
