"""Target resolution: the Azure target from the environment, and its one-line errors."""

from __future__ import annotations

import base64
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError

from batchspec.redact import describe_error, redact
from batchspec.targets import ConfigError, default_target_name, resolve_target

KEY = "c2VjcmV0LWJhdGNoLWtleS1mb3ItdGVzdHMtb25seQ=="
STORAGE_KEY = "c3RvcmFnZS1rZXktZm9yLXRlc3RzLW9ubHktMTIzNA=="
CONN = f"DefaultEndpointsProtocol=https;AccountName=mystore;AccountKey={STORAGE_KEY};"
GOOD = {
    "AZURE_BATCH_ENDPOINT": "https://mybatch.westeurope.batch.azure.com",
    "AZURE_BATCH_ACCOUNT": "mybatch",
    "AZURE_BATCH_ACCESS_KEY": KEY,
    "AZURE_STORAGE_CONNECTION_STRING": CONN,
}


def resolve(env: dict[str, str]) -> str:
    """The one-line error resolving `env` as the Azure target gives."""
    with pytest.raises(ConfigError) as caught:
        resolve_target("azure", Path("/nonexistent"), env)
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_default_target_is_azure_only_when_a_batch_endpoint_is_set() -> None:
    assert default_target_name({}) == "local"
    assert default_target_name({"AZURE_BATCH_ENDPOINT": "  "}) == "local"
    assert default_target_name(GOOD) == "azure"


def test_shared_key_configuration_gives_clients_for_its_endpoints() -> None:
    target = resolve_target(None, Path("/nonexistent"), GOOD)
    assert target.name == "azure"
    assert target.batch_endpoint == "https://mybatch.westeurope.batch.azure.com"
    assert target.storage.blob_endpoint == "https://mystore.blob.core.windows.net"
    client = target.batch_client()
    blobs = target.blob_service()
    try:
        assert blobs.account_name == "mystore"
        assert blobs.url.startswith("https://mystore.blob.core.windows.net")
    finally:
        client.close()
        blobs.close()


def test_description_and_repr_hold_no_secret() -> None:
    target = resolve_target("azure", Path("/nonexistent"), GOOD)
    for text in (target.describe(), repr(target)):
        assert KEY not in text
        assert STORAGE_KEY not in text
    assert target.describe() == (
        "azure: Batch https://mybatch.westeurope.batch.azure.com (account mybatch) with shared "
        "key; storage https://mystore.blob.core.windows.net with account key"
    )


def test_keys_from_the_environment_are_redacted_everywhere() -> None:
    resolve_target("azure", Path("/nonexistent"), GOOD)
    assert redact(f"oops {KEY} {STORAGE_KEY}") == "oops REDACTED REDACTED"


def test_sas_issuer_signs_with_the_storage_key() -> None:
    target = resolve_target("azure", Path("/nonexistent"), GOOD)
    url = target.sas(datetime.now(UTC) + timedelta(hours=1)).blob_url("input", "a b.txt")
    assert url.startswith("https://mystore.blob.core.windows.net/input/a%20b.txt?")
    assert "spr=https" in url


def test_storage_account_and_key_instead_of_a_connection_string() -> None:
    env = {k: v for k, v in GOOD.items() if k != "AZURE_STORAGE_CONNECTION_STRING"}
    env |= {"AZURE_STORAGE_ACCOUNT": "mystore", "AZURE_STORAGE_KEY": STORAGE_KEY}
    target = resolve_target("azure", Path("/nonexistent"), env)
    assert target.storage.account_key == STORAGE_KEY
    assert target.storage.blob_endpoint == "https://mystore.blob.core.windows.net"


def test_without_keys_entra_id_credentials_are_used() -> None:
    env = {
        "AZURE_BATCH_ENDPOINT": "https://mybatch.westeurope.batch.azure.com",
        "AZURE_STORAGE_ACCOUNT": "mystore",
    }
    target = resolve_target("azure", Path("/nonexistent"), env)
    assert target.batch_key is None
    assert target.batch_token_credential is not None
    assert target.storage.token_credential is not None
    assert target.storage.token_credential is target.batch_token_credential
    assert "Entra ID" in target.describe()


def test_connection_string_with_a_blob_endpoint_for_azurite() -> None:
    conn = (
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
        f"AccountKey={STORAGE_KEY};BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;"
    )
    target = resolve_target("azure", Path("/x"), GOOD | {"AZURE_STORAGE_CONNECTION_STRING": conn})
    assert target.storage.blob_endpoint == "http://127.0.0.1:10000/devstoreaccount1"
    assert target.storage.account_name == "devstoreaccount1"


def test_unknown_target_name() -> None:
    with pytest.raises(ConfigError, match="use --target local or --target azure"):
        resolve_target("cloud", Path("/x"), {})


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"AZURE_BATCH_ENDPOINT": ""}, "--target azure needs AZURE_BATCH_ENDPOINT"),
        ({"AZURE_BATCH_ENDPOINT": "ftp://x"}, "AZURE_BATCH_ENDPOINT must be an http(s) URL"),
        ({"AZURE_BATCH_ENDPOINT": "https://h:port"}, "AZURE_BATCH_ENDPOINT has a malformed port"),
        (
            {"AZURE_BATCH_ACCESS_KEY": "not base64!"},
            "AZURE_BATCH_ACCESS_KEY is not a base64 access key",
        ),
        (
            {"AZURE_BATCH_ACCOUNT": ""},
            "AZURE_BATCH_ACCESS_KEY is set: also set AZURE_BATCH_ACCOUNT",
        ),
        ({"AZURE_BATCH_ACCOUNT": "My_Batch"}, "AZURE_BATCH_ACCOUNT must be 3-24 lowercase"),
        (
            {"AZURE_STORAGE_CONNECTION_STRING": ""},
            "--target azure needs storage: set AZURE_STORAGE",
        ),
        (
            {"AZURE_STORAGE_CONNECTION_STRING": "garbage"},
            "AZURE_STORAGE_CONNECTION_STRING is malformed",
        ),
        (
            {
                "AZURE_STORAGE_CONNECTION_STRING": "BlobEndpoint=https://x;SharedAccessSignature=sv=1"
            },
            "AZURE_STORAGE_CONNECTION_STRING needs AccountName and AccountKey",
        ),
        (
            {"AZURE_STORAGE_CONNECTION_STRING": "AccountName=a;AccountKey=%%%"},
            "the AccountKey in AZURE_STORAGE_CONNECTION_STRING is not a base64 access key",
        ),
        (
            {"AZURE_STORAGE_CONNECTION_STRING": f"AccountName=a;AccountKey={KEY};BlobEndpoint=x:y"},
            "the BlobEndpoint in AZURE_STORAGE_CONNECTION_STRING has a malformed port",
        ),
        (
            {"AZURE_STORAGE_CONNECTION_STRING": "", "AZURE_STORAGE_ACCOUNT": "https://x"},
            "AZURE_STORAGE_ACCOUNT must be 3-24 lowercase letters and digits",
        ),
        (
            {
                "AZURE_STORAGE_CONNECTION_STRING": "",
                "AZURE_STORAGE_ACCOUNT": "mystore",
                "AZURE_STORAGE_KEY": "短い",
            },
            "AZURE_STORAGE_KEY is not a base64 access key",
        ),
        (
            {"AZURE_BATCH_ACCESS_KEY": "", "AZURE_BATCH_ENDPOINT": "http://127.0.0.1:8080"},
            "AZURE_BATCH_ENDPOINT is plain http: set AZURE_BATCH_ACCESS_KEY",
        ),
    ],
)
def test_missing_or_malformed_configuration_is_a_one_line_error(
    change: dict[str, str], expected: str
) -> None:
    message = resolve(GOOD | change)
    assert message.startswith(expected), message
    assert KEY not in message
    assert STORAGE_KEY not in message


@pytest.mark.timeout(120)
def test_azure_target_drives_real_services_given_their_endpoints(
    batch_service: Any, azurite: Any
) -> None:
    env = {
        "AZURE_BATCH_ENDPOINT": batch_service.endpoint,
        "AZURE_BATCH_ACCOUNT": batch_service.account,
        "AZURE_BATCH_ACCESS_KEY": batch_service.key,
        "AZURE_STORAGE_CONNECTION_STRING": azurite.connection_string,
    }
    target = resolve_target(None, Path("/nonexistent"), env)
    assert target.name == "azure"
    batch = target.batch_client()
    blobs = target.blob_service()
    name = f"t{uuid.uuid4().hex[:12]}"
    try:
        assert isinstance(list(batch.list_pools()), list)
        blobs.get_container_client(name).create_container()
        blobs.get_blob_client(name, "a.txt").upload_blob(b"hello")
        url = target.sas(datetime.now(UTC) + timedelta(minutes=5)).blob_url(name, "a.txt")
        with urllib.request.urlopen(url, timeout=10) as response:
            assert response.read() == b"hello"
    finally:
        blobs.delete_container(name)
        blobs.close()
        batch.close()


@pytest.mark.timeout(60)
def test_a_wrong_batch_key_is_refused_and_described_without_any_key(batch_service: Any) -> None:
    wrong = base64.b64encode(b"x" * 64).decode()
    env = GOOD | {
        "AZURE_BATCH_ENDPOINT": batch_service.endpoint,
        "AZURE_BATCH_ACCOUNT": batch_service.account,
        "AZURE_BATCH_ACCESS_KEY": wrong,
    }
    batch = resolve_target("azure", Path("/nonexistent"), env).batch_client()
    try:
        with pytest.raises(HttpResponseError) as caught:
            list(batch.list_pools())
    finally:
        batch.close()
    line = describe_error(caught.value)
    assert caught.value.status_code in (401, 403)
    assert wrong not in line
    assert batch_service.key not in line
    assert "\n" not in line


def test_endpoint_without_a_scheme_means_https_as_with_the_az_cli() -> None:
    env = GOOD | {"AZURE_BATCH_ENDPOINT": "mybatch.westeurope.batch.azure.com/"}
    target = resolve_target("azure", Path("/x"), env)
    assert target.batch_endpoint == "https://mybatch.westeurope.batch.azure.com"


def test_development_storage_shortcut_points_at_azurite_defaults() -> None:
    env = GOOD | {"AZURE_STORAGE_CONNECTION_STRING": "UseDevelopmentStorage=true"}
    storage = resolve_target("azure", Path("/x"), env).storage
    assert storage.blob_endpoint == "http://127.0.0.1:10000/devstoreaccount1"
    assert storage.account_name == "devstoreaccount1"
