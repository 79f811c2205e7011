"""Targets: where `apply` runs. A target supplies endpoints and credentials, nothing else.

`azure` reads the environment the way the az CLI does (AZURE_BATCH_ENDPOINT, AZURE_BATCH_ACCOUNT,
AZURE_BATCH_ACCESS_KEY, or an Entra ID login through DefaultAzureCredential; storage from
AZURE_STORAGE_CONNECTION_STRING or AZURE_STORAGE_ACCOUNT [+ AZURE_STORAGE_KEY]). `local` starts
the local Batch service and Azurite on demand and uses their development keys.
Both produce the same SDK clients, so the workflow code cannot tell them apart.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

from batchspec import errors
from batchspec.redact import register_secret

if TYPE_CHECKING:
    from azure.batch import BatchClient
    from azure.core.credentials import TokenCredential
    from azure.storage.blob import BlobServiceClient

    from batchspec.apply.sas import SasIssuer

TargetName = Literal["local", "azure"]
TARGET_NAMES: tuple[TargetName, ...] = ("local", "azure")

# The SDK reads a file up to max_single_put_size (64 MiB by default) into memory to send it in
# one request; beyond that it streams blocks. Small limits keep concurrent uploads of large
# files to a few MiB each.
# The storage SDK waits 60 s for each read and retries three times after 15-40 s pauses: a
# storage service that stopped answering held apply silent for five minutes. An answer to a
# 4 MiB block that has not come in 30 s is not coming; with quick retries a dead service ends
# the step in about two minutes, with the reason, and the next apply continues from there.
BLOB_CLIENT_OPTIONS: dict[str, Any] = {
    "max_single_put_size": 4 * 1024 * 1024,
    "max_block_size": 4 * 1024 * 1024,
    "connection_timeout": 20,
    "read_timeout": 30,
    "retry_total": 3,
    "initial_backoff": 1,
    "increment_base": 2,
}

# azure-core waits up to 300 s for a connection and 300 s for each read, and retries a read
# three times: a Batch service that stops answering held apply for 20 minutes per request,
# silently. Batch ends every operation within 30 s on its side (its `timeout` parameter), so
# an answer that has not come after 60 s is not coming.
BATCH_CLIENT_OPTIONS: dict[str, Any] = {"connection_timeout": 20, "read_timeout": 60}

_STORAGE_ACCOUNT = re.compile(r"^[a-z0-9]{3,24}$")
_BATCH_ACCOUNT = re.compile(r"^[a-z0-9]{3,24}$")


class ConfigError(errors.ConfigError):
    """Missing or malformed target configuration; the message is one line that says what to set."""


@dataclass(frozen=True)
class StorageAccess:
    """A storage account's blob endpoint and how to sign for it (a key or a token credential)."""

    account_name: str
    blob_endpoint: str
    account_key: str | None = field(default=None, repr=False, compare=False)
    token_credential: TokenCredential | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class Target:
    """Endpoints and credentials for the Batch and Blob SDK clients; `repr` shows no secret."""

    name: TargetName
    batch_endpoint: str
    batch_account: str | None
    storage: StorageAccess
    batch_key: str | None = field(default=None, repr=False, compare=False)
    batch_token_credential: TokenCredential | None = field(default=None, repr=False, compare=False)

    def batch_client(self) -> BatchClient:
        """A new azure.batch.BatchClient for this target."""
        from azure.batch import BatchClient
        from azure.core.credentials import AzureNamedKeyCredential

        if self.batch_key is not None:
            assert self.batch_account is not None
            key = AzureNamedKeyCredential(self.batch_account, self.batch_key)
            return BatchClient(self.batch_endpoint, key, **BATCH_CLIENT_OPTIONS)
        assert self.batch_token_credential is not None
        return BatchClient(self.batch_endpoint, self.batch_token_credential, **BATCH_CLIENT_OPTIONS)

    def blob_service(self, **options: Any) -> BlobServiceClient:
        """A new BlobServiceClient for this target's storage account.

        `options` go to the client (e.g. `raw_request_hook`), after BLOB_CLIENT_OPTIONS.
        """
        from azure.storage.blob import BlobServiceClient

        settings = BLOB_CLIENT_OPTIONS | options
        if self.storage.account_key is not None:
            credential = {
                "account_name": self.storage.account_name,
                "account_key": self.storage.account_key,
            }
            return BlobServiceClient(self.storage.blob_endpoint, credential=credential, **settings)
        return BlobServiceClient(
            self.storage.blob_endpoint, credential=self.storage.token_credential, **settings
        )

    def sas(self, expires_at: datetime) -> SasIssuer:
        """A SAS issuer for this target's storage whose tokens expire at `expires_at`."""
        from batchspec.apply.sas import SasIssuer

        if self.storage.account_key is not None:
            return SasIssuer(
                self.storage.account_name,
                self.storage.blob_endpoint,
                expires_at,
                account_key=self.storage.account_key,
            )
        service = self.blob_service()
        return SasIssuer(
            self.storage.account_name,
            self.storage.blob_endpoint,
            expires_at,
            delegation_key_source=lambda start, end: service.get_user_delegation_key(start, end),
        )

    def describe(self) -> str:
        """One line naming the target, its endpoints and how it authenticates; no secret."""
        batch_auth = "shared key" if self.batch_key is not None else "Entra ID"
        storage_auth = "account key" if self.storage.account_key is not None else "Entra ID"
        account = f" (account {self.batch_account})" if self.batch_account else ""
        return (
            f"{self.name}: Batch {self.batch_endpoint}{account} with {batch_auth}; "
            f"storage {self.storage.blob_endpoint} with {storage_auth}"
        )


def default_target_name(env: Mapping[str, str] | None = None) -> TargetName:
    """`azure` when an Azure Batch account is configured, else `local`."""
    env = os.environ if env is None else env
    return "azure" if env.get("AZURE_BATCH_ENDPOINT", "").strip() else "local"


def resolve_target(name: str | None, home: Path, env: Mapping[str, str] | None = None) -> Target:
    """The target called `name` (None: the default), ready to make SDK clients.

    Raises ConfigError when its configuration is missing or malformed. The local target starts
    its services if they are not running.
    """
    env = os.environ if env is None else env
    chosen = default_target_name(env) if name is None else name
    if chosen == "azure":
        return azure_target(env)
    if chosen == "local":
        return local_target(home)
    raise ConfigError(f"unknown target {name!r}: use --target local or --target azure")


def local_target(home: Path) -> Target:
    """The local target: the local Batch service and Azurite, started if needed."""
    from batchspec.local.services import ensure_running

    endpoints = ensure_running(home)
    register_secret(endpoints.batch_key)
    register_secret(endpoints.storage_key)
    storage = StorageAccess(
        endpoints.storage_account, endpoints.blob_endpoint, account_key=endpoints.storage_key
    )
    return Target(
        "local",
        endpoints.batch_endpoint,
        endpoints.batch_account,
        storage,
        batch_key=endpoints.batch_key,
    )


def azure_target(env: Mapping[str, str]) -> Target:
    """The Azure target from az-CLI-style environment variables."""
    endpoint = _get(env, "AZURE_BATCH_ENDPOINT")
    if endpoint is None:
        raise ConfigError(
            "--target azure needs AZURE_BATCH_ENDPOINT "
            "(e.g. https://myaccount.westeurope.batch.azure.com)"
        )
    endpoint = _check_url("AZURE_BATCH_ENDPOINT", endpoint)
    account = _get(env, "AZURE_BATCH_ACCOUNT")
    key = _get(env, "AZURE_BATCH_ACCESS_KEY")
    # One credential for both services, so an Entra ID login is resolved once.
    entra = _LazyCredential()
    storage = _storage_access(env, entra)
    if key is not None:
        register_secret(key)
        _check_key("AZURE_BATCH_ACCESS_KEY", key)
        if account is None:
            raise ConfigError("AZURE_BATCH_ACCESS_KEY is set: also set AZURE_BATCH_ACCOUNT")
        _check_account_name("AZURE_BATCH_ACCOUNT", account, _BATCH_ACCOUNT)
        return Target("azure", endpoint, account, storage, batch_key=key)
    _check_https_for_token("AZURE_BATCH_ENDPOINT", endpoint, "AZURE_BATCH_ACCESS_KEY")
    return Target("azure", endpoint, account, storage, batch_token_credential=entra.get())


def _storage_access(env: Mapping[str, str], entra: _LazyCredential) -> StorageAccess:
    connection_string = _get(env, "AZURE_STORAGE_CONNECTION_STRING")
    if connection_string is not None:
        return parse_connection_string(connection_string)
    account = _get(env, "AZURE_STORAGE_ACCOUNT")
    if account is None:
        raise ConfigError(
            "--target azure needs storage: set AZURE_STORAGE_CONNECTION_STRING, or "
            "AZURE_STORAGE_ACCOUNT (with AZURE_STORAGE_KEY or an Entra ID login)"
        )
    _check_account_name("AZURE_STORAGE_ACCOUNT", account, _STORAGE_ACCOUNT)
    endpoint = f"https://{account}.blob.core.windows.net"
    key = _get(env, "AZURE_STORAGE_KEY")
    if key is not None:
        register_secret(key)
        _check_key("AZURE_STORAGE_KEY", key)
        return StorageAccess(account, endpoint, account_key=key)
    return StorageAccess(account, endpoint, token_credential=entra.get())


def parse_connection_string(value: str) -> StorageAccess:
    """Storage access from a connection string with AccountName and AccountKey.

    A SAS-only connection string is refused: signing per-blob SAS tokens needs the key.
    """
    settings: dict[str, str] = {}
    for part in value.split(";"):
        if not part.strip():
            continue
        name, sep, setting = part.partition("=")
        if not sep:
            raise ConfigError(
                "AZURE_STORAGE_CONNECTION_STRING is malformed: expected Name=value pairs "
                "separated by ';'"
            )
        settings[name.strip().lower()] = setting.strip()
    if "accountkey" in settings:
        register_secret(settings["accountkey"])
    if settings.get("usedevelopmentstorage", "").lower() == "true":
        from batchspec.local.services import AZURITE_ACCOUNT, AZURITE_KEY

        return StorageAccess(
            AZURITE_ACCOUNT, f"http://127.0.0.1:10000/{AZURITE_ACCOUNT}", account_key=AZURITE_KEY
        )
    account = settings.get("accountname")
    key = settings.get("accountkey")
    if not account or not key:
        raise ConfigError(
            "AZURE_STORAGE_CONNECTION_STRING needs AccountName and AccountKey "
            "(a SAS connection string cannot sign the per-blob SAS tokens tasks need)"
        )
    _check_key("the AccountKey in AZURE_STORAGE_CONNECTION_STRING", key)
    endpoint = settings.get("blobendpoint")
    if endpoint:
        endpoint = _check_url("the BlobEndpoint in AZURE_STORAGE_CONNECTION_STRING", endpoint)
    else:
        protocol = settings.get("defaultendpointsprotocol", "https")
        if protocol not in ("http", "https"):
            raise ConfigError(
                "AZURE_STORAGE_CONNECTION_STRING: DefaultEndpointsProtocol must be http or https"
            )
        suffix = settings.get("endpointsuffix", "core.windows.net")
        endpoint = f"{protocol}://{account}.blob.{suffix}"
    return StorageAccess(account, endpoint, account_key=key)


def _get(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name, "").strip()
    return value or None


def _check_url(name: str, value: str) -> str:
    parts = urlsplit(value if "://" in value else f"https://{value}")
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query:
        raise ConfigError(f"{name} must be an http(s) URL such as https://host, got {value!r}")
    try:
        parts.port  # noqa: B018 -- raises on a malformed port
    except ValueError:
        raise ConfigError(f"{name} has a malformed port: {value!r}") from None
    return parts.geturl().rstrip("/")


def _check_key(name: str, value: str) -> None:
    try:
        decoded = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        decoded = b""
    if not decoded:
        raise ConfigError(
            f"{name} is not a base64 access key; copy it from the account's Keys page"
        )


def _check_account_name(name: str, value: str, pattern: re.Pattern[str]) -> None:
    if not pattern.match(value):
        raise ConfigError(
            f"{name} must be 3-24 lowercase letters and digits (the account name, not a URL), "
            f"got {value!r}"
        )


def _check_https_for_token(name: str, endpoint: str, key_name: str) -> None:
    # azure-core refuses to send bearer tokens over plain http.
    if endpoint.startswith("http://"):
        raise ConfigError(f"{name} is plain http: set {key_name}, or use an https endpoint")


class _LazyCredential:
    """azure-identity's DefaultAzureCredential, made on first use and then shared."""

    def __init__(self) -> None:
        self._credential: TokenCredential | None = None

    def get(self) -> TokenCredential:
        if self._credential is None:
            from azure.identity import DefaultAzureCredential

            self._credential = DefaultAzureCredential()
        return self._credential
