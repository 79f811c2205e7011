"""The Batch wire format: timestamps, durations, error bodies, ids, and the OData subset.

Error bodies are what the service sends and what azure-batch's BatchErrorFormat parses:
`{"odata.metadata": ..., "code": ..., "message": {"lang": "en-US", "value": ...}, "values": [...]}`.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Any

Doc = dict[str, Any]

_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_DURATION_RE = re.compile(
    r"^P(?:(?P<d>\d+(?:\.\d+)?)D)?(?:T(?:(?P<h>\d+(?:\.\d+)?)H)?(?:(?P<m>\d+(?:\.\d+)?)M)?"
    r"(?:(?P<s>\d+(?:\.\d+)?)S)?)?$"
)


class BatchError(Exception):
    """An error the service answers with: HTTP status, Batch error code, message, details."""

    def __init__(
        self, status: int, code: str, message: str, values: list[tuple[str, str]] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.values = values or []

    def body(self, base_url: str, request_id: str) -> Doc:
        """The JSON error body as Batch sends it."""
        stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f0Z")
        out: Doc = {
            "odata.metadata": f"{base_url}/$metadata#Microsoft.Azure.Batch.Protocol.Entities"
            ".Container.errors/@Element",
            "code": self.code,
            "message": {
                "lang": "en-US",
                "value": f"{self.message}\nRequestId:{request_id}\nTime:{stamp}",
            },
        }
        if self.values:
            out["values"] = [{"key": k, "value": v} for k, v in self.values]
        return out


def not_found(kind: str, what: str) -> BatchError:
    """404 with Batch's <Kind>NotFound code."""
    return BatchError(404, f"{kind}NotFound", f"The specified {what} does not exist.")


def invalid_property(name: str, value: object, reason: str = "") -> BatchError:
    """400 InvalidPropertyValue naming the property, as Batch does."""
    values = [("PropertyName", name), ("PropertyValue", str(value))]
    if reason:
        values.append(("Reason", reason))
    return BatchError(
        400,
        "InvalidPropertyValue",
        "The value provided for one of the properties in the request body is invalid.",
        values,
    )


def missing_property(name: str) -> BatchError:
    """400 MissingRequiredProperty, as Batch answers a body without a required field."""
    return BatchError(
        400,
        "MissingRequiredProperty",
        "A required property was not specified in the request body.",
        [("PropertyName", name)],
    )


def check_id(doc: Doc, name: str = "id") -> str:
    """Validate a Batch id: letters, digits, hyphens and underscores, 1 to 64 characters."""
    value = doc.get(name)
    if value is None or value == "":
        raise missing_property(name)
    if not isinstance(value, str) or not _ID_RE.match(value):
        raise invalid_property(
            name,
            value,
            "The id can contain any combination of alphanumeric characters including hyphens "
            "and underscores, and cannot contain more than 64 characters.",
        )
    return value


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


def select(doc: Doc, fields: str | None) -> Doc:
    """Apply `$select`: keep only the named top-level properties."""
    if not fields:
        return doc
    wanted = {f.strip() for f in fields.split(",") if f.strip()}
    return {k: v for k, v in doc.items() if k in wanted}
