"""The project's own cfn-lint rules: deploy-time knowledge that moto and cfn-lint do not model.

One module per rule, each named by its id (E9001-E9005), its message giving the AWS reason. `compiler.lint`
appends them to cfn-lint's rule set (cfn-lint's `append_rules`, given this module's import path), so every
build and every golden lint runs them; their code is part of the lint cache's key. Run them alone with
`cfn-lint --append-rules compiler.rules <template>` from the repository root.
"""

from .emptied_on_delete import EmptiedOnDelete
from .iam_star_resource import StarResourceOnlyWhereRequired
from .nat_return_path import NatAdmitsReturnPath
from .no_readable_secret import NoReadableSecret
from .public_needs_gateway import PublicResourcesWaitForTheGateway

__all__ = ["EmptiedOnDelete", "NatAdmitsReturnPath", "NoReadableSecret", "PublicResourcesWaitForTheGateway",
           "StarResourceOnlyWhereRequired"]
