"""Keep secrets out of everything batchspec prints, logs or stores.

Secrets take three shapes: SAS tokens (`sig=` in a URL, or a signature on its own), account keys
(inside connection strings and Shared Key authorization headers, or anywhere once registered)
and bearer tokens. Text is redacted whole and only then cut (tails end at line boundaries), so
no cut can leave a part of a secret that no pattern recognises.
`redact` removes all of them from a string; `RedactingFilter` does it for log records and
`describe_error` for exceptions, whose text the Azure SDKs fill with request URLs.
"""

from __future__ import annotations

import logging
import re
import threading
from typing import TextIO
from urllib.parse import quote

REDACTED = "REDACTED"

# A SAS signature: `sig=` up to the end of the query parameter. No word boundary before it:
# JSON bodies escape `&` as `\u0026`, and a URL nested in another one encodes `=` as `%3D`.
_SAS_SIG = re.compile(r"(?i)(sig(?:=|%3D))(?:(?!%26)[^&\s'\"<>;,)\\])+")
# A signature on its own, without its `sig=`: what a cut-off line or a value copied out of a
# URL leaves. A SAS signature is an HMAC-SHA256, 32 bytes: 43 base64 characters and one `=`
# (each of `+`, `/`, `=` possibly URL-encoded), with no base64 character either side, so
# longer base64 values (account keys) and hex digests do not match.
_B64 = r"(?:[A-Za-z0-9+/]|%2[BbFf])"
_BARE_SIGNATURE = re.compile(rf"(?<![A-Za-z0-9+/%]){_B64}{{43}}(?:=|%3[Dd])(?![A-Za-z0-9+/=%])")
# `AccountKey=...` inside a connection string (up to `;` or the end of the value).
_ACCOUNT_KEY = re.compile(r"(?i)(\bAccountKey=)[^;\s'\"]+")
# `SharedKey account:signature` / `SharedKeyLite account:signature` authorization values.
_SHARED_KEY = re.compile(r"(\bSharedKey(?:Lite)?\s+[^:\s]+:)[A-Za-z0-9+/=%]+")
# `Bearer <token>` authorization values.
_BEARER = re.compile(r"(?i)(\bBearer\s+)[A-Za-z0-9\-._~+/]+=*")
# A SAS connection string carries its token after `SharedAccessSignature=`.
_SAS_SETTING = re.compile(r"(?i)(\bSharedAccessSignature=)[^;\s'\"]+")

# Registering a short value would blank out ordinary words; real keys are long.
_MIN_SECRET_LENGTH = 8

_lock = threading.Lock()
# Longest first, so a secret that contains another registered one is removed whole.
_secrets: tuple[str, ...] = ()


def register_secret(value: str) -> None:
    """Redact `value` (and its URL-encoded forms) from every string `redact` sees from now on."""
    global _secrets
    if len(value) < _MIN_SECRET_LENGTH:
        return
    forms = {value, quote(value, safe=""), quote(value, safe="/")}
    with _lock:
        _secrets = tuple(sorted(set(_secrets) | forms, key=len, reverse=True))


def redact(text: str) -> str:
    """`text` without SAS signatures, account keys, bearer tokens or registered secrets."""
    if not text:
        return text
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    text = _SAS_SIG.sub(rf"\g<1>{REDACTED}", text)
    text = _BARE_SIGNATURE.sub(REDACTED, text)
    text = _ACCOUNT_KEY.sub(rf"\g<1>{REDACTED}", text)
    text = _SAS_SETTING.sub(rf"\g<1>{REDACTED}", text)
    text = _SHARED_KEY.sub(rf"\g<1>{REDACTED}", text)
    return _BEARER.sub(rf"\g<1>{REDACTED}", text)


class RedactingFilter(logging.Filter):
    """A logging filter that redacts the message, its arguments and any exception text."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = None
        if record.exc_info and record.exc_info[1] is not None:
            # The formatter reuses exc_text when it is set, so the traceback is redacted once here.
            formatter = logging.Formatter()
            record.exc_text = redact(formatter.formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


def log_to(stream: TextIO, level: int = logging.WARNING) -> logging.Handler:
    """Send every log record of this process to `stream`, redacted (for the local services).

    The handler sits on the root logger, so records of every library (uvicorn, azure-core,
    urllib3) pass through the redactor, tracebacks included.
    """
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter())
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    return handler


# urllib3's text for a connection that failed, inside azure-core's ServiceRequestError
# (nothing was sent) or ServiceResponseError (no answer came back).
_CONNECTION_TO = re.compile(r"host='(?P<host>[^']+)', port=(?P<port>\d+)\)")
_NO_CONNECTION = {
    "ServiceRequestError": "could not reach",
    "ServiceResponseError": "no answer from",
}


def describe_error(exc: BaseException) -> str:
    """One redacted line for an exception; Azure service errors read `Code: message`."""
    connection = _connection_problem(exc)
    if connection is not None:
        return redact(connection)
    code, message = _azure_code_and_message(exc)
    if code is None and message is None:
        message = str(exc)
        if not isinstance(exc, OSError | ValueError | RuntimeError) or not message:
            message = f"{type(exc).__name__}: {message}" if message else type(exc).__name__
    line = f"{code}: {message}" if code else str(message)
    return redact(" ".join(line.split()))


def _connection_problem(exc: BaseException) -> str | None:
    """`could not reach HOST:PORT: reason` for a connection that failed, else None."""
    verb = _NO_CONNECTION.get(type(exc).__name__)
    text = " ".join(str(exc).split())
    where = _CONNECTION_TO.search(text)
    if verb is None or where is None:
        return None
    # The reason is what follows the errno ("[Errno 111] Connection refused") or the last colon.
    reason = text.rsplit("] ", 1)[-1] if "] " in text else text.rsplit(": ", 1)[-1]
    return f"{verb} {where['host']}:{where['port']}: {reason}"


def _azure_code_and_message(exc: BaseException) -> tuple[str | None, str | None]:
    """The service's error code and message from an azure-core error, without importing it.

    Batch errors carry an OData `error` (code, message); Storage errors carry `error_code`
    and put request details on the lines after the first one of their message.
    """
    if not hasattr(exc, "reason") and not hasattr(exc, "error_code"):
        return None, None
    odata = getattr(exc, "error", None)
    raw_code: object = getattr(odata, "code", None) or getattr(exc, "error_code", None)
    # Storage gives a StorageErrorCode enum member whose str() is its Python name.
    raw_code = getattr(raw_code, "value", raw_code)
    code = str(raw_code) if raw_code else None
    message: str | None = getattr(odata, "message", None)
    if not message:
        message = str(getattr(exc, "message", None) or exc)
    # Lines after the first hold RequestId, Time and response dumps, not the reason.
    message = message.strip().splitlines()[0] if message.strip() else type(exc).__name__
    details = [
        f"{detail.code}={detail.message}"
        for detail in getattr(odata, "details", None) or ()
        if getattr(detail, "code", None) and detail.message != message
    ]
    if details:
        message += f" ({'; '.join(details)})"
    if code and message.startswith(f"({code}) "):
        message = message[len(code) + 3 :]
    return code, message
