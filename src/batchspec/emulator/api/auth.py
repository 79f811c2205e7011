"""Shared Key verification, computed exactly as azure-batch's BatchSharedKeyAuthPolicy signs.

The string to sign is: the method, eleven standard headers (content-length defaults to "0"
on requests other than GET/HEAD), every `ocp-*` header sorted by name, `/<account><raw path>`,
then each query parameter (decoded, first value, non-empty) sorted by name.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from urllib.parse import parse_qs

# A well-known development account, like Azurite's devstoreaccount1: public on purpose.
DEFAULT_ACCOUNT = "devbatchaccount1"
DEFAULT_KEY = (
    "IFBYetQRn4DLiVW5HaX5kZc3zw8+cqAa9g73SdmyxO7xnT7LcIhHm+xXWxtsGlol5brBVVu2Elts4zhOGzNhRw=="
)

_HEADERS_TO_SIGN = (
    "content-encoding",
    "content-language",
    "content-length",
    "content-md5",
    "content-type",
    "date",
    "if-modified-since",
    "if-match",
    "if-none-match",
    "if-unmodified-since",
    "range",
)


def string_to_sign(
    method: str,
    raw_path: str,
    query: str,
    headers: Mapping[str, str],
    account: str,
    content_length_default: str,
) -> str:
    """Build the canonical string the client signed; `headers` keys must be lower case."""
    values = {k: v for k, v in headers.items() if v}
    if method not in ("GET", "HEAD") and "content-length" not in values:
        values["content-length"] = content_length_default
    out = method + "\n" + "\n".join(values.get(h, "") for h in _HEADERS_TO_SIGN) + "\n"
    for name, value in sorted((k, v) for k, v in values.items() if "ocp-" in k):
        out += f"{name}:{value}\n"
    out += f"/{account}{raw_path}"
    parsed = parse_qs(query)
    for name in sorted(parsed):
        value = parsed[name][0]
        if value:
            out += f"\n{name}:{value}"
    return out


def sign(key: str, text: str) -> str:
    """Base64 HMAC-SHA256 of `text` under the base64 account key."""
    digest = hmac.new(base64.b64decode(key), text.encode("utf-8"), hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def verify(
    authorization: str | None,
    method: str,
    raw_path: str,
    query: str,
    headers: Mapping[str, str],
    account: str,
    key: str,
) -> str | None:
    """Return None when the request is correctly signed, else a reason (never the key)."""
    if not authorization:
        return "The request is not signed: the Authorization header is missing."
    scheme, _, credential = authorization.partition(" ")
    name, _, signature = credential.partition(":")
    if scheme != "SharedKey" or not signature:
        return "The Authorization header is not of the form 'SharedKey <account>:<signature>'."
    if name != account:
        return f"The account name '{name}' in the Authorization header is not this account."
    # A client may or may not send Content-Length: 0 on a bodiless request; both sign the same
    # length, so accept either spelling of "no body".
    for default in ("0", ""):
        expected = sign(key, string_to_sign(method, raw_path, query, headers, account, default))
        if hmac.compare_digest(expected, signature):
            return None
    return (
        "Server failed to authenticate the request. Make sure the value of Authorization "
        "header is formed correctly including the signature."
    )
