"""The change-set preview from CloudFormation's own fields (moto fills neither Replacement nor Details, so the
shape here is the one DescribeChangeSet documents)."""

from compiler.ops.changeset import ChangeSet, _change, render


def _resource(action, logical_id, kind, replacement=None, names=()):
    change = {"Action": action, "LogicalResourceId": logical_id, "ResourceType": kind,
              "Details": [{"Target": {"Attribute": "Properties", "Name": name}} for name in names]}
    if replacement:
        change["Replacement"] = replacement
    return change


def test_replacements_and_removals_of_data_stores_stand_out():
    changes = [_change(r) for r in [
        _resource("Modify", "TokensTable", "AWS::DynamoDB::Table", "True", ["KeySchema"]),
        _resource("Modify", "Service", "AWS::ECS::Service", "False", ["TaskDefinition"]),
        _resource("Modify", "TaskDefinition", "AWS::ECS::TaskDefinition", "Conditional", ["ContainerDefinitions"]),
        _resource("Remove", "LogGroup", "AWS::Logs::LogGroup"),
        _resource("Add", "CpuScalingPolicy", "AWS::ApplicationAutoScaling::ScalingPolicy"),
    ]]
    text = render(ChangeSet("voice-nat", "us-east-1", "arn:cs", "UPDATE", changes))
    lines = text.splitlines()
    assert lines[0] == "voice-nat (us-east-1): update, 5 resource changes"
    assert [line.split()[:3] for line in lines[1:6]] == [
        ["+", "add", "CpuScalingPolicy"], ["~", "modify", "Service"], ["!", "replace", "TokensTable"],
        ["?", "maybe-replace", "TaskDefinition"], ["-", "remove", "LogGroup"]]
    assert "TokensTable" in lines[3] and "(KeySchema)  <-- DATA: this DynamoDB table and what it holds go" in lines[3]
    assert "<-- DATA: this log group and what it holds go" in lines[5]
    assert "DATA" not in lines[2] and "(TaskDefinition)" in lines[2]
    assert lines[6] == "  1 add, 1 modify, 1 replace, 1 maybe-replace, 1 remove"
    assert lines[7] == "  WARNING: TokensTable, LogGroup will be replaced or removed, with the data they hold"
