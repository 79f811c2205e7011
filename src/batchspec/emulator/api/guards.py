"""Checks every request passes before its handler: the Host it names, the age of its date, and
one value per query parameter.

- **Host.** The service listens on loopback, but a web page the user visits can make the browser
  send requests to 127.0.0.1 under a name of the page's choosing (DNS rebinding). Only the
  loopback names are accepted: `localhost`, `127.0.0.1` (any 127.x address) and `[::1]`.
- **Date.** Batch accepts a request within 15 minutes of the time in its `ocp-date` (or `Date`)
  header, so that a captured request cannot be replayed later
  (https://learn.microsoft.com/rest/api/batchservice/authenticate-requests-to-the-azure-batch-service).
- **Query parameters.** The signature covers the first value of a parameter and a handler reads
  one value: a second `$filter` appended to a signed URL was used while the first was signed.
  A parameter given twice is refused (400 InvalidQueryParameterValue).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Mapping
from email.utils import parsedate_to_datetime
from urllib.parse import parse_qsl

from batchspec.emulator.service import errors
from batchspec.emulator.service.errors import BatchError

DATE_WINDOW = dt.timedelta(minutes=15)


def host_problem(host: str | None) -> BatchError | None:
    """400 InvalidHeaderValue unless `Host` names this machine's loopback interface."""
    value = (host or "").strip()
    name = value
    if name.startswith("["):
        name = name[1 : name.find("]")] if "]" in name else name
    elif name.count(":") == 1:
        name = name.rsplit(":", 1)[0]
    name = name.lower().rstrip(".")
    if name == "localhost":
        return None
    try:
        if ipaddress.ip_address(name).is_loopback:
            return None
    except ValueError:
        pass
    return errors.invalid_header_value("Host", value)


def date_problem(headers: Mapping[str, str], now: dt.datetime | None = None) -> str | None:
    """Why the request's date is refused (for AuthenticationFailed), or None.

    `headers` have lower-case names; `ocp-date` wins over `Date`, as on Batch.
    """
    raw = headers.get("ocp-date") or headers.get("date")
    if not raw:
        return "The request has no date: set the ocp-date (or Date) header."
    try:
        when = parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError):
        return f"The date '{raw}' in the request is not an RFC 1123 date."
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    now = now or dt.datetime.now(dt.UTC)
    if abs(now - when) > DATE_WINDOW:
        return (
            f"The request is dated {raw}, more than 15 minutes from the service's time "
            f"({now.strftime('%a, %d %b %Y %H:%M:%S GMT')}); requests are accepted within 15 "
            "minutes of their date."
        )
    return None


def duplicate_parameter(query: str) -> BatchError | None:
    """400 InvalidQueryParameterValue for a query parameter that appears more than once."""
    seen: set[str] = set()
    for name, value in parse_qsl(query, keep_blank_values=True):
        if name in seen:
            return errors.invalid_query_parameter(name, value)
        seen.add(name)
    return None
