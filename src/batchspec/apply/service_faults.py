"""Service faults: which Batch errors are worth waiting out, and which requests may be resent.

azure-core's retry policy already retries each request a few times (about five seconds in all
by default) on 408, 429 and 5xx answers and, for idempotent methods, on dropped connections.
What lies beyond that is decided here and by the callers: adding tasks sends a collection
again a bounded number of times, watching rides out an outage for a bounded time, and every
other step stops with the service's reason (the next apply continues the run).
"""

from __future__ import annotations

from typing import Any

from azure.core.exceptions import HttpResponseError, ServiceRequestError, ServiceResponseError

TRANSIENT_STATUS = frozenset({408, 429, 500, 502, 503, 504})
"""Answers that say "not now" rather than "no"."""

# azure-core's default allow-list (RetryPolicyBase) plus POST, as a per-call option.
_METHODS = frozenset({"HEAD", "GET", "PUT", "DELETE", "OPTIONS", "TRACE", "POST"})

RESEND_IF_UNANSWERED: dict[str, Any] = {"retry_on_methods": _METHODS}
"""Per-call option: azure-core may resend this POST when its answer was lost.

Batch's create requests are POSTs, and apply makes them safe to resend: a pool or job that
the first request created is answered with 409 on the second, which `ensure_pool` and
`ensure_job` judge like any existing pool or job (same settings: reused).
"""


def is_transient(exc: BaseException) -> bool:
    """Whether `exc` is the service being busy or unreachable, rather than a refusal."""
    if isinstance(exc, ServiceRequestError | ServiceResponseError):
        return True
    return isinstance(exc, HttpResponseError) and exc.status_code in TRANSIENT_STATUS
