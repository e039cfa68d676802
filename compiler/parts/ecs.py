"""ECS on Fargate: the cluster, the task definition and the service (count governed by scaling, not here)."""

from __future__ import annotations

from dataclasses import dataclass

from troposphere import GetAtt, Ref, Template, ec2, ecs, iam

from .. import naming
from ..model import Task


@dataclass(frozen=True)
class Cluster:
    cluster: ecs.Cluster
    capacity_providers: ecs.ClusterCapacityProviderAssociations


def capacity_provider(spot: bool) -> str:
    return "FARGATE_SPOT" if spot else "FARGATE"


def cluster(t: Template, spot: bool) -> Cluster:
    # Container Insights costs per metric; the alarms use the load balancer's free metrics instead.
    cluster_ = t.add_resource(ecs.Cluster(
        naming.CLUSTER, ClusterSettings=[ecs.ClusterSetting(Name="containerInsights", Value="disabled")]))
    associations = t.add_resource(ecs.ClusterCapacityProviderAssociations(
        naming.CLUSTER_CAPACITY_PROVIDERS,
        Cluster=Ref(cluster_),
        CapacityProviders=["FARGATE", "FARGATE_SPOT"],
        DefaultCapacityProviderStrategy=[ecs.CapacityProviderStrategy(
            CapacityProvider=capacity_provider(spot), Weight=1)],
    ))
    return Cluster(cluster=cluster_, capacity_providers=associations)


def task_definition(t: Template, task: Task, container: ecs.ContainerDefinition, *,
                    execution_role: iam.Role, task_role: iam.Role) -> ecs.TaskDefinition:
    return t.add_resource(ecs.TaskDefinition(
        naming.TASK_DEFINITION,
        RequiresCompatibilities=["FARGATE"],
        NetworkMode="awsvpc",
        Cpu=str(task.cpu),
        Memory=str(task.memory),
        RuntimePlatform=ecs.RuntimePlatform(
            OperatingSystemFamily="LINUX", CpuArchitecture="ARM64" if task.architecture == "arm64" else "X86_64"),
        ExecutionRoleArn=GetAtt(execution_role, "Arn"),
        TaskRoleArn=GetAtt(task_role, "Arn"),
        ContainerDefinitions=[container],
    ))


def service(t: Template, cluster_: Cluster, definition: ecs.TaskDefinition, *, spot: bool,
            subnets: list[ec2.Subnet], security_group: ec2.SecurityGroup,
            load_balancers: list[ecs.LoadBalancer] = (), depends_on: list[str] = (), public_ip: bool = True,
            service_registries: list[ecs.ServiceRegistry] = ()) -> ecs.Service:
    """A Fargate service; by default in public subnets with public IPs (how tasks reach ECR and the internet
    without NAT). With public_ip=False the subnets must route to a NAT.

    No DesiredCount: the scalable target owns the count; a DesiredCount here would reset it on every update.
    """
    service_ = ecs.Service(
        naming.SERVICE,
        Cluster=Ref(cluster_.cluster),
        TaskDefinition=Ref(definition),
        CapacityProviderStrategy=[ecs.CapacityProviderStrategyItem(CapacityProvider=capacity_provider(spot), Weight=1)],
        NetworkConfiguration=ecs.NetworkConfiguration(AwsvpcConfiguration=ecs.AwsvpcConfiguration(
            AssignPublicIp="ENABLED" if public_ip else "DISABLED", Subnets=[Ref(subnet) for subnet in subnets],
            SecurityGroups=[GetAtt(security_group, "GroupId")])),
        DeploymentConfiguration=ecs.DeploymentConfiguration(
            DeploymentCircuitBreaker=ecs.DeploymentCircuitBreaker(Enable=True, Rollback=True),
            MinimumHealthyPercent=100, MaximumPercent=200),
        PropagateTags="SERVICE",
        EnableECSManagedTags=True,
        # The capacity providers must be associated before a service can use them.
        DependsOn=[cluster_.capacity_providers.title, *depends_on],
    )
    if load_balancers:
        service_.LoadBalancers = list(load_balancers)
        service_.HealthCheckGracePeriodSeconds = 60
    if service_registries:
        service_.ServiceRegistries = list(service_registries)
    return t.add_resource(service_)
