"""E9002: no Secrets Manager (or SSM SecureString) dynamic reference where the resolved value can be read.

CloudFormation resolves `{{resolve:secretsmanager:...}}` at deploy time and hands the plain value to the
resource. Wherever the resource returns that property, the secret is readable by anyone allowed to describe it:
a Lambda function's environment (`lambda:GetFunctionConfiguration`, the console), an ECS task definition's
`Environment` (`ecs:DescribeTaskDefinition`), a launch template's user data, tags, outputs. It also goes stale:
rotating the secret changes nothing until the next deploy. Code should read the secret at run time (ECS
`Secrets`, the SDK at a Lambda's cold start), where IAM governs who reads it.

Allowed only in WRITE_ONLY below: properties AWS documents as never returned by the service's API.
"""

from __future__ import annotations

from cfnlint.rules import CloudFormationLintRule, RuleMatch

from ._template import strings

DYNAMIC_SECRETS = ("{{resolve:secretsmanager", "{{resolve:ssm-secure")

# (resource type, top-level property) -> why the resolved value is not readable afterwards
WRITE_ONLY = {
    ("AWS::RDS::DBInstance", "MasterUserPassword"): "RDS never returns the master password (DescribeDBInstances)",
    ("AWS::RDS::DBCluster", "MasterUserPassword"): "RDS never returns the master password (DescribeDBClusters)",
}


class NoReadableSecret(CloudFormationLintRule):
    id = "E9002"
    shortdesc = "No Secrets Manager dynamic reference where its value is readable"
    description = __doc__.split("\n\n", 1)[1]
    source_url = "https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/dynamic-references-secretsmanager.html"
    tags = ["mcpdeploy", "secrets"]

    def match(self, cfn) -> list[RuleMatch]:
        matches = []
        for section in ("Resources", "Outputs", "Parameters", "Metadata", "Mappings", "Conditions"):
            for path, text in strings(cfn.template.get(section), (section,)):
                if not any(marker in text for marker in DYNAMIC_SECRETS) or self._write_only(cfn, path):
                    continue
                matches.append(RuleMatch(list(path), f"{'/'.join(map(str, path))} resolves a secret into a value "
                                         "AWS shows to anyone allowed to describe it (and that goes stale when the "
                                         "secret rotates): read the secret at run time instead (ECS Secrets, or the "
                                         "SDK at cold start)"))
        return matches

    @staticmethod
    def _write_only(cfn, path: tuple) -> bool:
        if len(path) < 4 or path[0] != "Resources" or path[2] != "Properties":
            return False
        resource = cfn.template["Resources"].get(path[1]) or {}
        return (resource.get("Type"), path[3]) in WRITE_ONLY
