"""The one Secrets Manager secret holding every key the server needs, as a JSON object.

CloudFormation generates the server's API key; the ElevenLabs key starts empty and is put in by the
operator (see the SetElevenLabsKeyCommand output). No secret value ever appears in a template.
"""

from __future__ import annotations

import json

from troposphere import Sub, Template, secretsmanager

from .. import naming
from . import server

GENERATED_KEY_LENGTH = 48


def server_secret(t: Template, deployment: str) -> secretsmanager.Secret:
    operator_keys = {key: "" for key in server.SECRET_KEYS if key != server.SERVER_KEY}
    return t.add_resource(secretsmanager.Secret(
        naming.SERVER_SECRET,
        Description=f"Keys of the MCP server deployment {deployment}",
        GenerateSecretString=secretsmanager.GenerateSecretString(
            SecretStringTemplate=json.dumps(operator_keys),
            GenerateStringKey=server.SERVER_KEY,
            PasswordLength=GENERATED_KEY_LENGTH,
            ExcludePunctuation=True,
        ),
        # The secret belongs to the deployment; a kept one would cost $0.40 a month with nothing using it.
        DeletionPolicy="Delete", UpdateReplacePolicy="Delete",
    ))


def json_key(secret: secretsmanager.Secret, key: str) -> Sub:
    """ECS `valueFrom` for one key of a JSON secret: `<arn>:<key>::` (current version)."""
    return Sub(f"${{{secret.title}}}:{key}::")


def container_secrets(secret: secretsmanager.Secret) -> dict[str, Sub]:
    return {key: json_key(secret, key) for key in server.SECRET_KEYS}
