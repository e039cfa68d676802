"""How a template says which of its buckets a custom resource empties when the stack is deleted.

CloudFormation cannot delete a bucket that still holds objects. A custom resource that leaves a bucket empty in
its Delete handler declares it here, in its Metadata; project rule E9004 (compiler/rules/emptied_on_delete.py)
refuses any bucket the stack deletes that no such resource, depending on it, declares.
"""

from __future__ import annotations

EMPTIES_ON_DELETE = "mcpdeploy:emptiesOnDelete"


def empties_on_delete(*bucket_logical_ids: str) -> dict:
    """Metadata for a custom resource whose Delete leaves these buckets empty."""
    return {EMPTIES_ON_DELETE: list(bucket_logical_ids)}
