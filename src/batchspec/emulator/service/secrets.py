"""Secrets a client sends that the service must never answer with (Batch never returns them):
user account passwords, SSH private keys, storage account and SAS keys of mounts, container
registry passwords. Stored documents keep them for the engine; every answer drops them.
"""

from __future__ import annotations

from typing import Any

# Property names that hold a secret wherever they appear in a Batch body.
SECRET_KEYS = frozenset({"password", "sshPrivateKey", "accountKey", "sasKey"})


def without_secrets(value: Any) -> Any:
    """`value` with every secret property removed, at any depth."""
    if isinstance(value, dict):
        return {k: without_secrets(v) for k, v in value.items() if k not in SECRET_KEYS}
    if isinstance(value, list):
        return [without_secrets(v) for v in value]
    return value
