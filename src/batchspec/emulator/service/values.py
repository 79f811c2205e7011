"""Batch's value formats: documents, timestamps, ISO 8601 durations and ETags."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Any

Doc = dict[str, Any]

_DURATION_RE = re.compile(
    r"^P(?:(?P<d>\d+(?:\.\d+)?)D)?(?:T(?:(?P<h>\d+(?:\.\d+)?)H)?(?:(?P<m>\d+(?:\.\d+)?)M)?"
    r"(?:(?P<s>\d+(?:\.\d+)?)S)?)?$"
)


def now() -> dt.datetime:
    """The current UTC time."""
    return dt.datetime.now(dt.UTC)


def iso(t: dt.datetime | None = None) -> str:
    """ISO 8601 with seven fractional digits and Z, as Batch writes timestamps."""
    return (t or now()).strftime("%Y-%m-%dT%H:%M:%S.%f0Z")


def rfc1123(t: dt.datetime | None = None) -> str:
    """HTTP date, for Last-Modified and ocp-creation-time."""
    return (t or now()).strftime("%a, %d %b %Y %H:%M:%S GMT")


def parse_iso(text: str) -> dt.datetime:
    """Parse a timestamp written by `iso`."""
    return dt.datetime.strptime(text[:26] + "Z", "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=dt.UTC)


def parse_duration(text: str) -> float | None:
    """ISO 8601 duration in seconds; None when absent or unlimited (very large)."""
    m = _DURATION_RE.match(text or "")
    if not m or not text or text == "P":
        return None
    days, hours, mins, secs = (float(m.group(k) or 0) for k in "dhms")
    seconds = days * 86400 + hours * 3600 + mins * 60 + secs
    return None if seconds >= 10**9 else seconds


def new_etag() -> str:
    """A fresh ETag value."""
    return "0x" + uuid.uuid4().hex[:15].upper()
