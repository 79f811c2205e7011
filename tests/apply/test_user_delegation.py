"""The Entra ID storage path end to end: bearer tokens, a user delegation key, and its SAS.

Azurite checks bearer tokens only over HTTPS and with `--oauth basic` (issuer, audience and
lifetime, not the signature), so this test runs its own Azurite with a throwaway certificate;
the session's `azurite` fixture serves plain HTTP with shared keys.
"""

from __future__ import annotations

import base64
import json
import re
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from azure.core.credentials import AccessToken

from batchspec.local.processes import log_tail, pid_alive, spawn, terminate
from batchspec.local.services import AZURITE_ACCOUNT, find_azurite
from batchspec.targets import StorageAccess, Target

pytestmark = pytest.mark.timeout(120)

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
OBJECT_ID = "11059fcc-5514-4800-b5f8-49808b9cfab6"


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


class FakeEntraCredential:
    """A TokenCredential whose JWT has the claims Azurite's basic OAuth check reads."""

    def __init__(self) -> None:
        self.scopes: list[str] = []

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        self.scopes.extend(scopes)
        now = int(time.time())
        claims = {
            "aud": "https://storage.azure.com",
            "iss": f"https://sts.windows.net/{TENANT}/",
            "iat": now - 60,
            "nbf": now - 60,
            "exp": now + 3600,
            "oid": OBJECT_ID,
            "tid": TENANT,
        }
        token = f"{_b64({'alg': 'RS256', 'typ': 'JWT'})}.{_b64(claims)}.c2lnbmF0dXJl"
        return AccessToken(token, now + 3600)


@pytest.fixture(scope="module")
def tls_azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """An HTTPS Azurite with basic OAuth: yields its blob endpoint and its certificate."""
    root = tmp_path_factory.mktemp("tls-azurite")
    cert, key = root / "cert.pem", root / "key.pem"
    openssl = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
    openssl += ["-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1"]
    openssl += ["-addext", "subjectAltName=IP:127.0.0.1"]
    subprocess.run(openssl, check=True, capture_output=True)
    log = root / "azurite.log"
    cmd = [find_azurite(), "--blobHost", "127.0.0.1", "--blobPort", "0", "--silent"]
    cmd += ["--skipApiVersionCheck", "--loose", "--location", str(root / "data")]
    cmd += ["--oauth", "basic", "--cert", str(cert), "--key", str(key)]
    pid = spawn(cmd, log)
    try:
        deadline = time.monotonic() + 30
        found = None
        while found is None and time.monotonic() < deadline and pid_alive(pid):
            found = re.search(r"listens on (https://127\.0\.0\.1:\d+)", log_tail(log))
            time.sleep(0.05)
        assert found is not None, log_tail(log)
        yield f"{found.group(1)}/{AZURITE_ACCOUNT}", cert
    finally:
        terminate(pid, closed=lambda: "successfully closed" in log_tail(log))


def test_entra_id_storage_issues_user_delegation_sas_that_the_service_accepts(
    tls_azurite: tuple[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    endpoint, cert = tls_azurite
    # The SDK's HTTP stack trusts the throwaway certificate through the usual variable.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(cert))
    credential = FakeEntraCredential()
    storage = StorageAccess(AZURITE_ACCOUNT, endpoint, token_credential=credential)
    target = Target(
        "azure", "https://unused.example", None, storage, batch_token_credential=credential
    )
    assert "storage " + endpoint + " with Entra ID" in target.describe()

    blobs = target.blob_service()
    try:
        blobs.create_container("entra")
        blobs.get_blob_client("entra", "in.txt").upload_blob(b"delegated")
    finally:
        blobs.close()
    assert "https://storage.azure.com/.default" in credential.scopes

    sas = target.sas(datetime.now(UTC) + timedelta(hours=1))
    read_url = sas.blob_url("entra", "in.txt")
    assert f"skoid={OBJECT_ID}" in read_url
    tls = ssl.create_default_context(cafile=str(cert))
    with urllib.request.urlopen(read_url, timeout=10, context=tls) as response:
        assert response.read() == b"delegated"

    base, token = sas.container_write_url("entra").split("?", 1)
    put = urllib.request.Request(
        f"{base}/out.txt?{token}",
        data=b"result",
        method="PUT",
        headers={"x-ms-blob-type": "BlockBlob"},
    )
    with urllib.request.urlopen(put, timeout=10, context=tls) as response:
        assert response.status == 201
    # The read token cannot write, nor the write token read.
    denied = urllib.request.Request(read_url, data=b"x", method="PUT", headers=put.headers)
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(denied, timeout=10, context=tls)
    assert caught.value.code == 403
    caught.value.close()
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(f"{base}/out.txt?{token}", timeout=10, context=tls)
    assert caught.value.code == 403
    caught.value.close()
