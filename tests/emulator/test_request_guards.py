"""Requests the local Batch service refuses before any handler: a Host that is no loopback name,
a date outside Batch's 15 minutes, a query parameter given twice."""

from __future__ import annotations

import datetime as dt
import json
import urllib.error
import urllib.request
from email.utils import formatdate
from typing import Any

import pytest

from batchspec.emulator.api.auth import sign, string_to_sign
from batchspec.emulator.api.guards import date_problem, duplicate_parameter, host_problem

NOW = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)


def test_loopback_names_only() -> None:
    for host in ("127.0.0.1:8080", "localhost:1", "LOCALHOST.", "[::1]:5", "127.0.0.2", "::1"):
        assert host_problem(host) is None, host
    for host in ("evil.example:8080", "10.0.0.1", "", None, "127.0.0.1.evil.example", "[fe80::1]"):
        found = host_problem(host)
        assert found is not None and found.code == "InvalidHeaderValue", host


def test_batchs_fifteen_minute_window() -> None:
    def dated(when: dt.datetime) -> dict[str, str]:
        return {"ocp-date": formatdate(when.timestamp(), usegmt=True)}

    assert date_problem(dated(NOW), NOW) is None
    assert date_problem(dated(NOW - dt.timedelta(minutes=14)), NOW) is None
    assert date_problem(dated(NOW + dt.timedelta(minutes=14)), NOW) is None
    for when in (dt.datetime(2001, 1, 1, tzinfo=dt.UTC), dt.datetime(2100, 1, 1, tzinfo=dt.UTC)):
        assert "more than 15 minutes" in (date_problem(dated(when), NOW) or "")
    assert "no date" in (date_problem({}, NOW) or "")
    assert "not an RFC 1123 date" in (date_problem({"ocp-date": "yesterday"}, NOW) or "")
    # ocp-date wins over Date, as on Batch.
    both = {**dated(NOW), "date": "Mon, 01 Jan 2001 00:00:00 GMT"}
    assert date_problem(both, NOW) is None


def test_one_value_per_query_parameter() -> None:
    assert duplicate_parameter("api-version=1&%24filter=a&maxresults=3") is None
    found = duplicate_parameter("api-version=1&%24filter=id%20eq%20%27x%27&%24filter=b")
    assert found is not None and found.code == "InvalidQueryParameterValue"
    assert ("QueryParameterName", "$filter") in found.values


def _request(
    service: Any, query: str, *, date: str | None = None, host: str | None = None
) -> tuple[int, dict[str, Any]]:
    path = "/pools"
    headers = {"ocp-date": date or formatdate(usegmt=True)}
    text = string_to_sign("GET", path, query, headers, service.account, "0")
    headers["authorization"] = f"SharedKey {service.account}:{sign(service.key, text)}"
    if host is not None:
        headers["host"] = host
    request = urllib.request.Request(f"{service.endpoint}{path}?{query}", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        with err:
            return err.code, json.loads(err.read() or b"{}")


@pytest.mark.timeout(60)
def test_the_service_refuses_them(batch_service: Any) -> None:
    query = "api-version=2025-06-01"
    assert _request(batch_service, query)[0] == 200
    for stale in ("Mon, 01 Jan 2001 00:00:00 GMT", "Fri, 01 Jan 2100 00:00:00 GMT"):
        status, body = _request(batch_service, query, date=stale)
        assert (status, body["code"]) == (403, "AuthenticationFailed")
        assert "more than 15 minutes" in body["message"]["value"]
    # Signed for a filter that matches nothing, with a second one appended after signing.
    twice = f"{query}&%24filter=id%20eq%20%27none%27&%24filter=id%20ne%20%27none%27"
    status, body = _request(batch_service, twice)
    assert (status, body["code"]) == (400, "InvalidQueryParameterValue")
    status, body = _request(batch_service, query, host="attacker.example")
    assert (status, body["code"]) == (400, "InvalidHeaderValue")
    status, body = _request(batch_service, query, host="localhost")
    assert status == 200
