"""A moto server whose change sets behave like CloudFormation's, for the operating commands' tests.

    python -m tests.ops.moto_changesets -H 127.0.0.1 -p PORT     # moto_server's arguments

moto 5.2.5 executes a change set without what `deploy` relies on, so this process patches its CloudFormation
backend before serving (the rest of moto is untouched):
- executing a CREATE change set creates the stack as `create-stack` does: with the exports of other stacks
  (moto's change sets see none) and registering its own exports and outputs (moto's change sets keep neither);
- each resource gets its CREATE_IN_PROGRESS and CREATE_COMPLETE event in creation order (moto records stack
  events only), and a resource moto fails to create gets CREATE_FAILED with moto's error as its reason, the
  stack ROLLBACK_IN_PROGRESS / ROLLBACK_COMPLETE (moto instead fails the ExecuteChangeSet call and leaves the
  stack in REVIEW_IN_PROGRESS). Resources created before the failure are not deleted by the rollback;
- a stack whose deletion moto cannot finish (it leaves a VPC's internet gateway attached, its route tables and
  endpoints: every deployment stack) ends in DELETE_FAILED, with a DELETE_FAILED event on the resource moto's
  error names, as CloudFormation reports it (moto instead fails the DeleteStack call and forgets the stack);
- a change set's template gets tests/deploy/moto_compat.py's rewrites for what moto cannot evaluate (IPv6
  intrinsics, the ACM certificate: the first certificate imported into moto's ACM in that region); imports
  are resolved by moto itself, from the real exports.
"""

from __future__ import annotations

import json
import sys


def patch() -> None:
    from moto.acm.models import acm_backends
    from moto.cloudformation import models, parsing
    from moto.cloudformation.models import CloudFormationBackend, Stack

    from tests.deploy import moto_compat

    original_create = CloudFormationBackend.create_change_set

    def create_change_set(self, stack_name, change_set_name, template, parameters, *args, **kwargs):
        try:
            body = json.loads(template)
        except ValueError:
            body = None
        if isinstance(body, dict):
            certificates = list(acm_backends[self.account_id][self.region_name]._certificates)
            rewrite = moto_compat.for_moto(body, exports=None, certificate_arn=(certificates or ["none"])[0])
            template = json.dumps(rewrite.template)
        return original_create(self, stack_name, change_set_name, template, parameters, *args, **kwargs)

    def execute_change_set(self, change_set_name, stack_name=None):
        change_set = self.describe_change_set(change_set_name)
        if change_set.change_set_type != "CREATE":
            stack = self.stacks[change_set.stack_id]
            stack._add_stack_event("UPDATE_IN_PROGRESS", resource_status_reason="User Initiated")
            change_set.apply()
            stack.template = change_set.template
            stack._parse_template()
            stack.output_map = stack._create_output_map()
            stack._add_stack_event("UPDATE_COMPLETE")
            stack.status = "UPDATE_COMPLETE"
            change_set.execution_status = "EXECUTE_COMPLETE"
            return
        old = self.stacks[change_set.stack_id]
        stack = Stack(stack_id=old.stack_id, name=old.name, template=change_set.template,
                      parameters=change_set.parameters, account_id=self.account_id, region_name=self.region_name,
                      notification_arns=old.notification_arns, tags=old.tags, role_arn=old.role_arn,
                      cross_stack_resources=self.exports)
        stack.events = old.events
        self.stacks[stack.stack_id] = stack
        change_set.execution_status = "EXECUTE_COMPLETE"
        stack._add_stack_event("CREATE_IN_PROGRESS", resource_status_reason="User Initiated")
        stack.status = "CREATE_IN_PROGRESS"
        resources = stack.resource_map
        resources._template = stack.template_dict
        resources._resource_json_map = stack.template_dict["Resources"]
        creating.update(stack=stack, failed=None)
        try:
            for logical_id in resources._ResourceMap__get_resources_in_dependency_order():
                resources[logical_id]
        except Exception as exc:  # moto's own error, as CloudFormation would report it for that resource
            logical_id = creating["failed"]
            kind = stack.template_dict["Resources"].get(logical_id, {}).get("Type", "?")
            _event(stack, logical_id, kind, "CREATE_FAILED", f"{type(exc).__name__}: {exc}")
            stack._add_stack_event("ROLLBACK_IN_PROGRESS", resource_status_reason=f"The following resource(s) "
                                   f"failed to create: [{logical_id}]. Rollback requested by user.")
            stack._add_stack_event("ROLLBACK_COMPLETE")
            stack.status = "ROLLBACK_COMPLETE"
            stack.output_map = parsing.OutputMap(resources, {}, stack.stack_id)  # a rolled-back stack has none
            return
        finally:
            creating.update(stack=None)
        self._validate_export_uniqueness(stack)
        for export in stack.exports:
            self.exports[export.name] = export
        stack.mark_creation_complete()

    def _event(stack, logical_id, kind, status, reason, resource=None):
        physical = str(getattr(resource, "physical_resource_id", "") or "")
        stack.events.append(models.Event(stack_id=stack.stack_id, stack_name=stack.name, logical_resource_id=logical_id,
                                         physical_resource_id=physical, resource_type=kind, resource_status=status,
                                         resource_status_reason=reason, resource_properties=None))

    # moto creates a resource when something first refers to it, so events are recorded where each is created
    creating: dict = {"stack": None, "failed": None}
    original_parse = parsing.parse_and_create_resource

    def parse_and_create_resource(logical_id, resource_json, resources_map, account_id, region_name):
        stack = creating["stack"]
        if stack is None or logical_id in resources_map._parsed_resources:
            return original_parse(logical_id, resource_json, resources_map, account_id, region_name)
        _event(stack, logical_id, resource_json["Type"], "CREATE_IN_PROGRESS", None)
        try:
            created = original_parse(logical_id, resource_json, resources_map, account_id, region_name)
        except Exception:
            creating["failed"] = creating["failed"] or logical_id  # the innermost resource fails first
            raise
        _event(stack, logical_id, resource_json["Type"], "CREATE_COMPLETE", None, created)
        return created

    parsing.parse_and_create_resource = parse_and_create_resource
    original_delete = CloudFormationBackend.delete_stack

    def delete_stack(self, name_or_stack_id):
        found = [s for s in self.stacks.values() if name_or_stack_id in (s.name, s.stack_id)]
        try:
            original_delete(self, name_or_stack_id)
        except Exception as exc:  # moto failed to delete a resource: CloudFormation reports DELETE_FAILED
            stack = found[0]
            self.stacks[stack.stack_id] = stack  # moto had already taken it off the list
            self.deleted_stacks.pop(stack.stack_id, None)
            blamed = next((logical_id for logical_id, resource in stack.resource_map._parsed_resources.items()
                           if logical_id in stack.template_dict["Resources"]
                           and str(getattr(resource, "physical_resource_id", "")) in str(exc)), stack.name)
            kind = stack.template_dict["Resources"].get(blamed, {}).get("Type", "AWS::CloudFormation::Stack")
            _event(stack, blamed, kind, "DELETE_FAILED", f"{type(exc).__name__}: {exc}")
            stack._add_stack_event("DELETE_FAILED", resource_status_reason=f"The following resource(s) failed to "
                                   f"delete: [{blamed}].")
            stack.status = "DELETE_FAILED"

    CloudFormationBackend.delete_stack = delete_stack
    CloudFormationBackend.create_change_set = create_change_set
    CloudFormationBackend.execute_change_set = execute_change_set


if __name__ == "__main__":
    patch()
    from moto.server import main

    main(sys.argv[1:])
