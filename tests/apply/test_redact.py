"""Redaction of SAS signatures, keys and registered secrets from text, logs and errors."""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import logging
from pathlib import Path
from urllib.parse import quote

import pytest
from azure.core.exceptions import (
    HttpResponseError,
    ODataV4Format,
    ServiceRequestError,
    ServiceResponseError,
)

from batchspec.redact import RedactingFilter, describe_error, redact, register_secret

SAS_URL = (
    "http://127.0.0.1:10000/devstoreaccount1/input/a.txt"
    "?se=2026-11-24T10%3A00%3A00Z&sp=r&sv=2025-01-05&sr=b&sig=AbCd%2Bef%2F0123456789%3D"
)


def test_sas_signature_is_removed_and_the_rest_of_the_url_kept() -> None:
    out = redact(f"GET {SAS_URL} failed")
    assert "AbCd" not in out
    assert "sig=REDACTED" in out
    assert out.startswith("GET http://127.0.0.1:10000/devstoreaccount1/input/a.txt?se=")
    assert out.endswith(" failed")


def test_signature_in_the_middle_of_a_query_keeps_the_parameters_after_it() -> None:
    out = redact("https://a.blob.core.windows.net/c?sig=secret123&sp=r")
    assert out == "https://a.blob.core.windows.net/c?sig=REDACTED&sp=r"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"url":"https://a/c/b?sp=r\\u0026sig=abc123\\u0026se=x"}', "sig=REDACTED\\u0026se=x"),
        ("next=https%3A%2F%2Fa%2Fc%3Fsp%3Dr%26sig%3Dabc123%26se%3Dx", "sig%3DREDACTED%26se"),
        ("'https://a/c?sig=abc123'", "sig=REDACTED'"),
        ("<Url>https://a/c?sig=abc123</Url>", "sig=REDACTED</Url>"),
    ],
)
def test_signature_is_removed_from_escaped_and_nested_urls(text: str, expected: str) -> None:
    out = redact(text)
    assert "abc123" not in out
    assert expected in out


def test_account_key_in_a_connection_string_is_removed() -> None:
    conn = "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=c2VjcmV0a2V5Cg==;Suffix=x"
    out = redact(conn)
    assert "c2VjcmV0a2V5" not in out
    assert "AccountName=acct;AccountKey=REDACTED;Suffix=x" in out


def test_shared_key_and_bearer_authorization_values_are_removed() -> None:
    out = redact(
        "Authorization: SharedKey myacct:Zm9vYmFyYmF6+/= ; Authorization: Bearer eyJ0e.x-y_z"
    )
    assert "Zm9vYmFy" not in out
    assert "eyJ0e" not in out
    assert "SharedKey myacct:REDACTED" in out
    assert "Bearer REDACTED" in out


def test_registered_secret_is_removed_in_plain_and_url_encoded_forms() -> None:
    secret = "k3y/with+slash=="
    register_secret(secret)
    out = redact(f"key {secret} and in a url {quote(secret, safe='')}")
    assert secret not in out
    assert quote(secret, safe="") not in out
    assert out.count("REDACTED") == 2


def test_short_values_are_not_registered() -> None:
    register_secret("abc")
    assert redact("abc abc") == "abc abc"


def test_logging_filter_redacts_message_arguments_and_traceback() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter())
    logger = logging.getLogger("batchspec.test.redact")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("fetching %s", SAS_URL)
        try:
            raise RuntimeError(f"could not read {SAS_URL}")
        except RuntimeError:
            logger.exception("upload failed")
    finally:
        logger.removeHandler(handler)
    text = stream.getvalue()
    assert "AbCd" not in text
    assert text.count("sig=REDACTED") == 2
    assert "RuntimeError" in text


def test_describe_error_gives_code_and_message_on_one_line() -> None:
    err = HttpResponseError(message="(PoolExists) The specified pool already exists.\nRequestId:1")
    # The Batch client attaches the service's OData error body like this.
    err.error = ODataV4Format(
        {"code": "PoolExists", "message": "The specified pool already exists.\nRequestId:1"}
    )
    assert describe_error(err) == "PoolExists: The specified pool already exists."


def test_describe_error_includes_batch_error_details() -> None:
    err = HttpResponseError(message="(InvalidPropertyValue) bad")
    err.error = ODataV4Format(
        {
            "code": "InvalidPropertyValue",
            "message": "The value provided for one of the properties is invalid.",
            "details": [{"code": "PropertyName", "message": "vmSize"}],
        }
    )
    assert describe_error(err) == (
        "InvalidPropertyValue: The value provided for one of the properties is invalid. "
        "(PropertyName=vmSize)"
    )


def test_describe_error_names_storage_error_codes_by_their_wire_value() -> None:
    from azure.storage.blob import StorageErrorCode

    err = HttpResponseError(message="Server failed to authenticate the request.\nRequestId:1")
    err.error_code = StorageErrorCode.AUTHORIZATION_FAILURE  # type: ignore[attr-defined]
    assert describe_error(err) == "AuthorizationFailure: Server failed to authenticate the request."


def test_describe_error_leaves_out_details_that_repeat_the_message() -> None:
    err = HttpResponseError(message="(AuthenticationFailed) x")
    err.error = ODataV4Format(
        {
            "code": "AuthenticationFailed",
            "message": "Server failed to authenticate the request.",
            "details": [
                {
                    "code": "AuthenticationErrorDetail",
                    "message": "Server failed to authenticate the request.",
                }
            ],
        }
    )
    assert describe_error(err) == "AuthenticationFailed: Server failed to authenticate the request."


def test_describe_error_redacts_urls_in_sdk_exception_text() -> None:
    err = ServiceRequestError(f"Connection refused while requesting {SAS_URL}")
    line = describe_error(err)
    assert "AbCd" not in line
    assert "sig=REDACTED" in line
    assert line.startswith("ServiceRequestError: ")


@pytest.mark.parametrize(
    ("error", "line"),
    [
        (
            ServiceRequestError(
                "HTTPConnection(host='127.0.0.1', port=10): Failed to establish a new "
                "connection: [Errno 111] Connection refused"
            ),
            "could not reach 127.0.0.1:10: Connection refused",
        ),
        (
            ServiceResponseError(
                "HTTPConnectionPool(host='acct.westeurope.batch.azure.com', port=443): "
                "Read timed out. (read timeout=60)"
            ),
            "no answer from acct.westeurope.batch.azure.com:443: Read timed out. (read timeout=60)",
        ),
    ],
)
def test_a_connection_that_failed_names_the_host_and_the_reason(
    error: Exception, line: str
) -> None:
    assert describe_error(error) == line


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (FileNotFoundError(2, "No such file or directory"), "[Errno 2] No such file or directory"),
        (KeyError("input"), "KeyError: 'input'"),
        (RuntimeError(), "RuntimeError"),
    ],
)
def test_describe_error_for_plain_exceptions(exc: BaseException, expected: str) -> None:
    assert describe_error(exc) == expected


def _signature(n: int = 0) -> str:
    return base64.b64encode(hmac.new(b"key", str(n).encode(), hashlib.sha256).digest()).decode()


def test_a_signature_without_its_prefix_is_removed() -> None:
    for n in range(50):  # signatures with and without + and /
        sig = _signature(n)
        for shown in (sig, quote(sig, safe=""), f"x {sig}\n", f'"signature": "{sig}"'):
            assert sig[:20] not in redact(shown) and quote(sig, safe="")[:20] not in redact(shown)


def test_other_base64_and_hex_values_are_kept() -> None:
    md5 = "1B2M2Y8AsgTpgAmY7PhCfg=="
    digest = "a" * 64
    assert redact(f"{md5} {digest}") == f"{md5} {digest}"
    key = base64.b64encode(bytes(range(64))).decode()
    assert redact(f"key {key}") == f"key {key}"  # a longer base64 value is no signature


def test_a_tail_never_starts_inside_a_line() -> None:
    from batchspec.apply.tails import TAIL_BYTES, _tail

    sig = _signature()
    line = ("x" * 10 + f"&sig={quote(sig, safe='')}") * 400  # one line longer than the tail
    data = (line + "\n").encode()
    fetched = lambda rng: [data[int(rng[6:].split("-")[0]) :]]  # noqa: E731
    shown = _tail(lambda: len(data), fetched)
    assert shown == f"(the last line is longer than {TAIL_BYTES:,} bytes; not shown)"
    data = (line + "\nlast line\n").encode()
    assert _tail(lambda: len(data), fetched) == "last line"


def test_a_log_tail_is_cut_at_a_line_boundary(tmp_path: Path) -> None:
    from batchspec.local.processes import log_tail

    sig = _signature()
    log = tmp_path / "x.log"
    log.write_text(f"GET /a?sig={sig} 200\n" * 100 + "done\n")
    tail = log_tail(log, limit=130)
    assert tail.startswith("GET /a?sig=") and tail.endswith("done\n")
    assert all(line.startswith(("GET", "done")) for line in tail.splitlines())


def test_the_azurite_log_relay_redacts_every_line(tmp_path: Path) -> None:
    import subprocess
    import sys

    sig = _signature(7)
    key = base64.b64encode(bytes(range(1, 65))).decode()
    log = tmp_path / "azurite.log"
    printer = (
        f"print('GET /c/b?sv=1&sig={quote(sig, safe='')} 200'); print('key {key}'); print('ok')"
    )
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "batchspec.local.logpipe",
            str(log),
            "--",
            sys.executable,
            "-c",
            printer,
        ],
        env={"AZURITE_ACCOUNTS": f"devstoreaccount1:{key}"},
        timeout=60,
        check=False,
    )
    assert done.returncode == 0
    text = log.read_text()
    assert text.splitlines() == ["GET /c/b?sv=1&sig=REDACTED 200", "key REDACTED", "ok"]
    assert oct(log.stat().st_mode & 0o777) == "0o600"


def test_the_local_services_log_through_the_redactor() -> None:
    from batchspec.redact import log_to

    stream = io.StringIO()
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        log_to(stream)
        sig = _signature(3)
        try:
            raise ValueError(f"InvalidURL: 'http://h/a b?sig={sig}'")
        except ValueError:
            logging.getLogger("batchspec.emulator.engine").exception("fetch failed")
        logging.getLogger("uvicorn.error").warning("bare %s", sig)
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
    text = stream.getvalue()
    assert "fetch failed" in text and "Traceback" in text and "sig=REDACTED" in text
    assert sig[:16] not in text
