"""Outputs every topology shares: where the logs are, which secret to fill in, how to restart the service."""

from __future__ import annotations

from troposphere import GetAtt, Output, Ref, Sub, Template, ecs, logs, secretsmanager

from .ecs import Cluster

# Reads the secret, sets its ElevenLabs key from the caller's environment (never from the command line, so the
# key shows neither in this output nor in the process list), writes it back and restarts the tasks to load it.
SET_ELEVENLABS_KEY = (
    "aws secretsmanager get-secret-value --region ${AWS::Region} --secret-id ${Secret} --query SecretString "
    "--output text | jq -cj '.ELEVENLABS_API_KEY = env.ELEVENLABS_API_KEY' | aws secretsmanager put-secret-value "
    "--region ${AWS::Region} --secret-id ${Secret} --secret-string file:///dev/stdin >/dev/null && aws ecs update-service "
    "--region ${AWS::Region} --cluster ${Cluster} --service ${ServiceName} --force-new-deployment "
    "--query service.serviceName --output text"
)


def operations(t: Template, cluster: Cluster, service: ecs.Service, secret: secretsmanager.Secret,
               log_group: logs.LogGroup) -> None:
    t.add_output([
        Output("ClusterName", Value=Ref(cluster.cluster)),
        Output("ServiceName", Value=GetAtt(service, "Name")),
        Output("LogGroupName", Value=Ref(log_group)),
        Output("SecretArn", Value=Ref(secret), Description="Holds MCP_SERVER_API_KEY (generated) and "
               "ELEVENLABS_API_KEY (yours to set)."),
        Output("SetElevenLabsKeyCommand", Description="Run with ELEVENLABS_API_KEY exported in your shell "
               "(needs the AWS CLI and jq).", Value=Sub(SET_ELEVENLABS_KEY, Secret=Ref(secret),
                                                       Cluster=Ref(cluster.cluster),
                                                       ServiceName=GetAtt(service, "Name"))),
    ])
