"""The root cause of a failed stack operation: the first resource that failed for a reason of its own."""

from compiler.ops.events import Outcome, explain_failure, root_cause


def _event(logical_id, kind, status, reason=None):
    return {"LogicalResourceId": logical_id, "ResourceType": kind, "ResourceStatus": status,
            "ResourceStatusReason": reason, "EventId": logical_id + status}


# The shape CloudFormation reports (oldest first): one resource fails, those in flight are cancelled, the stack
# summarizes, and the rollback deletes fail or succeed on their own.
CASCADE = [
    _event("Service", "AWS::ECS::Service", "CREATE_FAILED", "Resource creation cancelled"),
    _event("TaskDefinition", "AWS::ECS::TaskDefinition", "CREATE_FAILED",
           "Resource handler returned message: \"Invalid request provided: Create TaskDefinition: No Fargate "
           "configuration exists for given values: 256 CPU, 4096 memory\" (HandlerErrorCode: InvalidRequest)"),
    _event("LoadBalancer", "AWS::ElasticLoadBalancingV2::LoadBalancer", "CREATE_FAILED",
           "Resource creation cancelled"),
    _event("voice-alb", "AWS::CloudFormation::Stack", "ROLLBACK_IN_PROGRESS",
           "The following resource(s) failed to create: [Service, TaskDefinition, LoadBalancer]. Rollback requested"),
    _event("Vpc", "AWS::EC2::VPC", "DELETE_FAILED", "The vpc 'vpc-1' has dependencies and cannot be deleted."),
]


def test_the_root_cause_skips_cancelled_resources_and_the_stack_summary():
    failures = [e for e in CASCADE if e["ResourceStatus"].endswith("_FAILED")]
    assert root_cause(failures)["LogicalResourceId"] == "TaskDefinition"


def test_without_a_resource_of_its_own_the_first_failure_is_named():
    only_cancelled = [CASCADE[0], CASCADE[2]]
    assert root_cause(only_cancelled)["LogicalResourceId"] == "Service"
    assert root_cause([]) is None


def test_the_explanation_names_the_resource_its_reason_and_what_to_do():
    text = explain_failure("voice-alb", Outcome("ROLLBACK_COMPLETE", CASCADE[1]))
    assert "root cause: TaskDefinition (AWS::ECS::TaskDefinition) CREATE_FAILED: Resource handler returned" in text
    assert "python -m compiler destroy voice-alb" in text
    update = explain_failure("voice-alb", Outcome("UPDATE_ROLLBACK_COMPLETE", CASCADE[1]))
    assert "rolled the stack back to its last working state" in update
