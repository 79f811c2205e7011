"""Least-privilege SAS URLs for the blobs and containers a job touches.

Every token is scoped to one blob or one container (never the account), carries only the
permissions its use needs, and expires at the time the workflow gives (the job's timeout plus
a margin). Tokens are signed with the account key, or, under an Entra ID credential, with a
user delegation key fetched once from the service.

Signatures are not registered with `redact` one by one (a large job issues one per task):
they only travel inside URLs, where `redact` removes any `sig=` value.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from azure.storage.blob import (
    BlobSasPermissions,
    ContainerSasPermissions,
    UserDelegationKey,
    generate_blob_sas,
    generate_container_sas,
)

from batchspec.errors import RunFailed
from batchspec.redact import register_secret

# SAS tokens outlive the job's own time limit by this much (uploads, queueing, downloads).
SAS_MARGIN = timedelta(hours=1)
SAS_WITHOUT_TIMEOUT = timedelta(days=2)
# The service refuses user delegation keys valid for longer than this.
MAX_DELEGATION = timedelta(days=7)
# Tolerates clock skew between this machine and the storage service.
CLOCK_SKEW = timedelta(minutes=5)

DelegationKeySource = Callable[[datetime, datetime], UserDelegationKey]
"""Fetches a user delegation key valid from the first to the second time."""


class SasError(RunFailed):
    """A SAS cannot be issued as asked (e.g. longer than a user delegation key may live)."""


class SasIssuer:
    """Issues read, list and write SAS URLs under one storage account, all expiring together."""

    def __init__(
        self,
        account_name: str,
        blob_endpoint: str,
        expires_at: datetime,
        *,
        account_key: str | None = None,
        delegation_key_source: DelegationKeySource | None = None,
    ) -> None:
        if (account_key is None) == (delegation_key_source is None):
            raise ValueError("give exactly one of account_key and delegation_key_source")
        if expires_at.tzinfo is None:
            raise ValueError("expires_at must be timezone-aware")
        self.account_name = account_name
        self.blob_endpoint = blob_endpoint.rstrip("/")
        self.expires_at = expires_at.astimezone(UTC)
        self._account_key = account_key
        self._delegation_key_source = delegation_key_source
        self._delegation_key: UserDelegationKey | None = None
        # Tokens over https endpoints are usable over https only; the local target is plain http.
        self._protocol = "https" if self.blob_endpoint.startswith("https://") else None
        self._container_tokens: dict[tuple[str, str], str] = {}
        self._lock = threading.Lock()

    def blob_url(self, container_name: str, blob: str) -> str:
        """A URL that can read one blob (Batch resource file `http_url`)."""
        token = generate_blob_sas(
            self.account_name,
            container_name,
            blob,
            permission=BlobSasPermissions(read=True),
            expiry=self.expires_at,
            protocol=self._protocol,
            account_key=self._account_key,
            user_delegation_key=self._delegation(),
        )
        return f"{self._container_url(container_name)}/{_quote_blob(blob)}?{token}"

    def container_read_url(self, container_name: str) -> str:
        """A URL that can list and read a container's blobs (Batch `storage_container_url`)."""
        return self._container(container_name, ContainerSasPermissions(read=True, list=True))

    def container_write_url(self, container_name: str) -> str:
        """A URL that can create and write blobs in a container, for task output files."""
        permission = ContainerSasPermissions(write=True, add=True, create=True)
        return self._container(container_name, permission)

    def _container(self, container_name: str, permission: ContainerSasPermissions) -> str:
        cache_key = (container_name, str(permission))
        with self._lock:
            token = self._container_tokens.get(cache_key)
        if token is None:
            token = generate_container_sas(
                self.account_name,
                container_name,
                permission=permission,
                expiry=self.expires_at,
                protocol=self._protocol,
                account_key=self._account_key,
                user_delegation_key=self._delegation(),
            )
            with self._lock:
                self._container_tokens[cache_key] = token
        return f"{self._container_url(container_name)}?{token}"

    def _container_url(self, container_name: str) -> str:
        return f"{self.blob_endpoint}/{quote(container_name, safe='')}"

    def _delegation(self) -> UserDelegationKey | None:
        """The user delegation key, fetched on first use; None when signing with the account key."""
        if self._delegation_key_source is None:
            return None
        with self._lock:
            if self._delegation_key is None:
                now = datetime.now(UTC)
                if self.expires_at - now > MAX_DELEGATION - CLOCK_SKEW:
                    raise SasError(
                        "a user delegation SAS can live at most 7 days: set a shorter job "
                        "timeout, or give a storage account key"
                    )
                key = self._delegation_key_source(now - CLOCK_SKEW, self.expires_at)
                if key.value:
                    register_secret(key.value)
                self._delegation_key = key
            return self._delegation_key


def _quote_blob(blob: str) -> str:
    """Percent-encode a blob name for a URL, keeping its `/` separators (as the SDK does)."""
    return quote(blob, safe="/~")


def sas_expiry(timeout_seconds: int | None, now: datetime) -> datetime:
    """When a run's SAS tokens expire: the job's timeout plus a margin from `now`.

    Batch takes timeouts up to about 10.7 million days, past datetime's last year; such a
    job's tokens expire at the end of the year 9999, the latest time Storage can be told.
    """
    try:
        life = (
            SAS_WITHOUT_TIMEOUT if timeout_seconds is None else timedelta(seconds=timeout_seconds)
        )
        return now + life + SAS_MARGIN
    except OverflowError:
        return datetime.max.replace(tzinfo=UTC)
