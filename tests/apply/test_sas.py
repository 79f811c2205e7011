"""SasIssuer without a service: user-delegation signing, lifetimes and redaction of tokens."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, quote, unquote, urlsplit

import pytest
from azure.storage.blob import UserDelegationKey

from batchspec.apply.sas import SasError, SasIssuer
from batchspec.apply.workflow import SAS_MARGIN, SAS_WITHOUT_TIMEOUT, sas_expiry
from batchspec.plan.build import MAX_DURATION_DAYS
from batchspec.redact import redact

KEY = base64.b64encode(b"k" * 32).decode()
ENDPOINT = "https://acct.blob.core.windows.net"


def delegation_key(start: datetime, end: datetime) -> UserDelegationKey:
    key = UserDelegationKey()
    key.signed_oid = "00000000-0000-0000-0000-0000000000aa"
    key.signed_tid = "00000000-0000-0000-0000-0000000000bb"
    key.signed_start = start.strftime("%Y-%m-%dT%H:%M:%SZ")
    key.signed_expiry = end.strftime("%Y-%m-%dT%H:%M:%SZ")
    key.signed_service = "b"
    key.signed_version = "2025-01-05"
    key.value = base64.b64encode(b"delegation-key-value-32-bytes!!!").decode()
    return key


def query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def test_each_url_carries_only_its_permissions_and_scope() -> None:
    sas = SasIssuer("acct", ENDPOINT, datetime.now(UTC) + timedelta(hours=2), account_key=KEY)
    blob = query(sas.blob_url("in", "dir/a b.txt"))
    read = query(sas.container_read_url("in"))
    write = query(sas.container_write_url("out"))
    assert (blob["sp"], blob["sr"]) == ("r", "b")
    assert (read["sp"], read["sr"]) == ("rl", "c")
    assert (write["sp"], write["sr"]) == ("acw", "c")
    assert all(q["spr"] == "https" for q in (blob, read, write))
    assert "ss" not in blob  # an account SAS would name services; these never do


def test_plain_http_endpoints_do_not_restrict_the_protocol() -> None:
    sas = SasIssuer(
        "devstoreaccount1",
        "http://127.0.0.1:10000/devstoreaccount1/",
        datetime.now(UTC) + timedelta(hours=1),
        account_key=KEY,
    )
    url = sas.blob_url("in", "a.txt")
    assert url.startswith("http://127.0.0.1:10000/devstoreaccount1/in/a.txt?")
    assert "spr" not in query(url)


def test_user_delegation_key_is_fetched_once_and_signs_every_token() -> None:
    calls: list[tuple[datetime, datetime]] = []

    def source(start: datetime, end: datetime) -> UserDelegationKey:
        calls.append((start, end))
        return delegation_key(start, end)

    expires = datetime.now(UTC) + timedelta(hours=3)
    sas = SasIssuer("acct", ENDPOINT, expires, delegation_key_source=source)
    first = query(sas.blob_url("in", "a.txt"))
    second = query(sas.container_write_url("out"))
    assert len(calls) == 1
    assert calls[0][1] == expires
    assert calls[0][0] < datetime.now(UTC)
    for token in (first, second):
        assert token["skoid"] == "00000000-0000-0000-0000-0000000000aa"
        assert token["sig"]


def test_a_delegation_sas_beyond_seven_days_is_refused_with_a_reason() -> None:
    expires = datetime.now(UTC) + timedelta(days=8)
    sas = SasIssuer("acct", ENDPOINT, expires, delegation_key_source=delegation_key)
    with pytest.raises(SasError, match="at most 7 days"):
        sas.blob_url("in", "a.txt")


def test_signatures_issued_are_redacted_from_the_urls_that_carry_them() -> None:
    sas = SasIssuer("acct", ENDPOINT, datetime.now(UTC) + timedelta(hours=1), account_key=KEY)
    url = sas.blob_url("in", "a.txt")
    raw = urlsplit(url).query.split("sig=")[1].split("&")[0]
    for text in (url, f'{{"httpUrl": "{url}"}}', f"next={quote(url, safe='')}"):
        assert raw not in redact(text)
        assert unquote(raw) not in redact(text)


@pytest.mark.parametrize(
    "kwargs",
    [{}, {"account_key": KEY, "delegation_key_source": delegation_key}],
)
def test_exactly_one_way_of_signing(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="exactly one"):
        SasIssuer("acct", ENDPOINT, datetime.now(UTC), **kwargs)  # type: ignore[arg-type]


def test_expiry_must_be_timezone_aware() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        SasIssuer("acct", ENDPOINT, datetime(2030, 1, 1), account_key=KEY)


def test_sas_expiry_is_the_job_timeout_plus_a_margin_and_never_past_year_9999() -> None:
    now = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
    assert sas_expiry(20 * 60, now) == now + timedelta(minutes=20) + SAS_MARGIN
    assert sas_expiry(None, now) == now + SAS_WITHOUT_TIMEOUT + SAS_MARGIN
    # The longest time limit validate accepts (Batch's own) reaches past datetime's range.
    longest = MAX_DURATION_DAYS * 24 * 3600
    assert sas_expiry(longest, now) == datetime.max.replace(tzinfo=UTC)
