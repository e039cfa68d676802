"""The relay's connection table (connection -> task, MCP session, principal) and the free gateway endpoint
through which the relay, inside a VPC without NAT, reaches DynamoDB."""

from __future__ import annotations

from troposphere import GetAtt, Ref, Sub, Template, dynamodb, ec2

from .. import naming
from . import policies
from .network import Network

KEY = "id"  # the API Gateway connection ID
EXPIRES = "expires"  # epoch seconds; DynamoDB's TTL removes rows whose $disconnect never ran
RELAY_ACTIONS = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"]


def connections_table(t: Template) -> dynamodb.Table:
    return t.add_resource(dynamodb.Table(
        naming.CONNECTIONS_TABLE,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[dynamodb.AttributeDefinition(AttributeName=KEY, AttributeType="S")],
        KeySchema=[dynamodb.KeySchema(AttributeName=KEY, KeyType="HASH")],
        TimeToLiveSpecification=dynamodb.TimeToLiveSpecification(AttributeName=EXPIRES, Enabled=True),
        SSESpecification=dynamodb.SSESpecification(SSEEnabled=True),
        # Rows live for one connection (2 h at most): nothing worth keeping or restoring.
        DeletionPolicy="Delete", UpdateReplacePolicy="Delete",
    ))


def relay_access(table: dynamodb.Table) -> dict:
    return policies.allow(RELAY_ACTIONS, GetAtt(table, "Arn"))


def gateway_endpoint(t: Template, network: Network, table: dynamodb.Table,
                     task_statements: list[dict] = ()) -> ec2.VPCEndpoint:
    """Routes DynamoDB traffic of the public subnets' route table privately; its policy admits only the relay's
    actions on this table, whoever in the VPC asks, and task_statements (the tasks' own DynamoDB access, e.g.
    reading the tokens table): the tasks share the route table, so their public addresses do not take them
    around the endpoint."""
    statements = [{"Principal": "*", **statement} for statement in [relay_access(table), *task_statements]]
    return t.add_resource(ec2.VPCEndpoint(
        naming.DYNAMODB_ENDPOINT,
        VpcId=Ref(network.vpc),
        ServiceName=Sub("com.amazonaws.${AWS::Region}.dynamodb"),
        VpcEndpointType="Gateway",
        RouteTableIds=[Ref(naming.PUBLIC_ROUTE_TABLE)],
        PolicyDocument=policies.document(statements),
    ))
