"""E9005: an identity policy grants `Resource: "*"` only for actions where AWS requires it, each with its reason.

Least privilege: an Allow on every resource is only right when the action cannot be scoped. The Service
Authorization Reference lists, for every action, the resource types it can be scoped to; the actions below list
none (or, marked so, AWS documents "*" for the service-managed use this project makes of them). Any other action
on "*" must name its resources (ARNs, or a Sub of the stack's own). `NotAction` on "*" is refused outright.
Checked: AWS::IAM::Role, Policy, ManagedPolicy, User, Group, RolePolicy, UserPolicy and GroupPolicy documents.
"""

from __future__ import annotations

from cfnlint.rules import CloudFormationLintRule, RuleMatch

from ._template import as_list, properties, resources

# action -> why it is granted on "*": actions the Service Authorization Reference lists with no resource type (and
# AWS's own examples grant on "*"). Only what the templates use; add others with their reason. A test checks each
# against cfn-lint's copy of that reference (data/AdditionalSpecs/Policies.json).
STAR_ONLY = {
    "ecr:GetAuthorizationToken": "ECR: returns a registry-wide login token; the action has no resource type",
    "ec2:DescribeNetworkInterfaces": "EC2 Describe* actions are list actions with no resource type",
    "application-autoscaling:DescribeScalableTargets": "Application Auto Scaling Describe* actions have no "
                                                       "resource type (the on-demand idle check reads its target)",
    **{f"ssmmessages:{action}": "Session Manager's channels (the NAT instance's agent): no resource type"
       for action in ("CreateControlChannel", "CreateDataChannel", "OpenControlChannel", "OpenDataChannel")},
}
# Scopable in principle, but AWS documents "*" for this use: Lambda creates and deletes a VPC function's network
# interfaces with the execution role, before their IDs exist; AWS's own AWSLambdaVPCAccessExecutionRole grants
# exactly these on "*", and the Lambda guide warns that a DeleteNetworkInterface scoped to one interface ID can
# leave the function unable to reach its VPC (its alternative is every resource of the account and region).
DOCUMENTED_STAR = {
    action: "Lambda VPC access (execution role): AWS documents these on * (AWSLambdaVPCAccessExecutionRole)"
    for action in ("ec2:CreateNetworkInterface", "ec2:DeleteNetworkInterface",
                   "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses")
}
ALLOWED_ON_STAR = {**STAR_ONLY, **DOCUMENTED_STAR}

POLICY_HOLDERS = ("AWS::IAM::Role", "AWS::IAM::User", "AWS::IAM::Group")  # Policies: [{PolicyDocument}]
POLICIES = ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy", "AWS::IAM::RolePolicy", "AWS::IAM::UserPolicy",
            "AWS::IAM::GroupPolicy")  # PolicyDocument


class StarResourceOnlyWhereRequired(CloudFormationLintRule):
    id = "E9005"
    shortdesc = 'IAM Resource "*" only for actions that cannot be scoped'
    description = __doc__.split("\n\n", 1)[1]
    source_url = "https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html"
    tags = ["mcpdeploy", "iam"]

    def match(self, cfn) -> list[RuleMatch]:
        matches = []
        for name, resource in resources(cfn, *POLICY_HOLDERS):
            for index, policy in enumerate(as_list(properties(resource).get("Policies") or [])):
                if isinstance(policy, dict):
                    matches += _check(policy.get("PolicyDocument"),
                                      ["Resources", name, "Properties", "Policies", index, "PolicyDocument"])
        for name, resource in resources(cfn, *POLICIES):
            matches += _check(properties(resource).get("PolicyDocument"),
                              ["Resources", name, "Properties", "PolicyDocument"])
        return matches


def _check(document, path: list) -> list[RuleMatch]:
    if not isinstance(document, dict):
        return []
    matches = []
    for index, statement in enumerate(as_list(document.get("Statement") or [])):
        if not isinstance(statement, dict) or statement.get("Effect") != "Allow":
            continue
        if "*" not in as_list(statement.get("Resource")):
            continue
        where = [*path, "Statement", index]
        if "NotAction" in statement:
            matches.append(RuleMatch(where, 'NotAction on Resource "*" allows nearly everything everywhere'))
            continue
        for action in as_list(statement.get("Action")):
            if not isinstance(action, str) or action not in ALLOWED_ON_STAR:
                matches.append(RuleMatch(where, f'{action} is granted on Resource "*" but AWS lets it be scoped to '
                                         "resources: name them (or, if the Service Authorization Reference lists no "
                                         "resource type for it, add it to compiler/rules/iam_star_resource.py with "
                                         "the reason)"))
    return matches
