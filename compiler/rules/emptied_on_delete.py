"""E9004: what the stack deletes, it can delete: S3 buckets and ECR repositories are empty by then.

CloudFormation cannot delete a bucket that still holds objects ("The bucket you tried to delete is not empty")
nor a repository that still holds images (unless its `EmptyOnDelete` is true); the stack ends in DELETE_FAILED
and the user cleans up by hand. A bucket the stack deletes (DeletionPolicy Delete, or none: Delete is the
default) must therefore be emptied on delete by a custom resource, by this convention:

    "Emptier": {
      "Type": "Custom::...",                                   (or AWS::CloudFormation::CustomResource)
      "Metadata": {"mcpdeploy:emptiesOnDelete": ["Bucket"]},   (the buckets its Delete leaves empty)
      "Properties": {"ServiceToken": ..., "Bucket": {"Ref": "Bucket"}, ...}
    }

(compiler/parts/lifecycle.py writes that Metadata.) The custom resource must depend on the bucket (a Ref or GetAtt in its properties, or DependsOn), so that
CloudFormation deletes it, running its Delete handler, before it deletes the bucket. Declaring a bucket in
`mcpdeploy:emptiesOnDelete` is a promise that after the handler's Delete nothing is left in it: it removes every
object (every version, if versioned), or the bucket holds nothing but the objects that resource writes.
A repository the stack deletes must set `EmptyOnDelete: true`; one that keeps images sets DeletionPolicy Retain.
"""

from __future__ import annotations

from cfnlint.rules import CloudFormationLintRule, RuleMatch

from ..parts.lifecycle import EMPTIES_ON_DELETE
from ._template import as_list, dependencies, properties, resources

DELETED = ("Delete", None)


class EmptiedOnDelete(CloudFormationLintRule):
    id = "E9004"
    shortdesc = "Buckets and repositories deleted with the stack are emptied first"
    description = __doc__.split("\n\n", 1)[1]
    source_url = "https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-attribute-deletionpolicy.html"
    tags = ["mcpdeploy", "lifecycle"]

    def match(self, cfn) -> list[RuleMatch]:
        emptied: dict[str, set[str]] = {}  # bucket -> custom resources that declare they empty it
        for name, resource in (cfn.template.get("Resources") or {}).items():
            if not isinstance(resource, dict) or not _is_custom(resource.get("Type")):
                continue
            for bucket in as_list((resource.get("Metadata") or {}).get(EMPTIES_ON_DELETE) or []):
                emptied.setdefault(bucket, set()).add(name)
        matches = []
        for name, resource in resources(cfn, "AWS::S3::Bucket"):
            if resource.get("DeletionPolicy") not in DELETED:
                continue
            emptiers = {e for e in emptied.get(name, ()) if name in dependencies(cfn, e)}
            if not emptiers:
                matches.append(RuleMatch(["Resources", name], f"bucket {name} is deleted with the stack but nothing "
                                         "empties it first: the delete fails while it holds objects. Add a custom "
                                         f"resource that depends on it and lists it in Metadata {EMPTIES_ON_DELETE} "
                                         "(see the rule's documentation), or set DeletionPolicy Retain"))
        for name, resource in resources(cfn, "AWS::ECR::Repository"):
            if resource.get("DeletionPolicy") in DELETED and properties(resource).get("EmptyOnDelete") not in (
                    True, "true"):
                matches.append(RuleMatch(["Resources", name], f"repository {name} is deleted with the stack but "
                                         "EmptyOnDelete is not true: the delete fails while it holds images. Set "
                                         "EmptyOnDelete: true, or DeletionPolicy Retain to keep the images"))
        return matches


def _is_custom(resource_type) -> bool:
    return isinstance(resource_type, str) and (resource_type.startswith("Custom::")
                                               or resource_type == "AWS::CloudFormation::CustomResource")
