"""Service faults: which Batch errors are worth waiting out, and which requests may be resent.

azure-core's retry policy already retries each request a few times (about five seconds in all
by default) on 408, 429 and 5xx answers and, for idempotent methods, on dropped connections.
What lies beyond that is decided here and by the callers: adding tasks sends a collection
again a bounded number of times, the waits for nodes and for tasks ride out an outage for a
bounded time, and every other step stops with the service's reason (the next apply continues
the run).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from azure.core.exceptions import (
    AzureError,
    HttpResponseError,
    ServiceRequestError,
    ServiceResponseError,
)

from batchspec.errors import RunFailed
from batchspec.redact import describe_error

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


OUTAGE_SECONDS = 120.0
"""How long the waits (for nodes, for tasks) ride out a Batch service that does not answer.
The pool and the tasks go on without apply; a long run should not lose its watch (and its
downloads) to a short outage."""


class ServiceOutage(RunFailed):
    """The Batch service did not answer a wait's polls for longer than the outage limit."""


class OutageWindow:
    """Consecutive failed polls of one wait: said once, waited out for up to `limit` seconds.

    `failed(exc)` re-raises a refusal, and raises ServiceOutage once the failures span more
    than `limit` seconds (its message ends with `meanwhile`: what goes on without apply);
    `answered()` closes the window.
    """

    def __init__(
        self,
        what: str,
        limit: float,
        say: Callable[[str], None],
        warn: Callable[[str], None],
        *,
        meanwhile: str,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.what, self.limit, self.meanwhile = what, limit, meanwhile
        self.say, self.warn, self.clock = say, warn, clock
        self.down_since: float | None = None

    def failed(self, exc: AzureError) -> None:
        """Record a failed poll; raise when it should end the wait."""
        if not is_transient(exc):
            raise exc
        now = self.clock()
        if self.down_since is None:
            self.down_since = now
            self.warn(
                f"the Batch service is not answering ({describe_error(exc)}); "
                f"still {self.what} for up to {self.limit:.0f}s"
            )
        elif now - self.down_since > self.limit:
            raise ServiceOutage(
                f"the Batch service did not answer for {now - self.down_since:.0f}s while "
                f"{self.what} ({describe_error(exc)}); {self.meanwhile}"
            ) from None

    def answered(self) -> None:
        """Record an answered poll."""
        if self.down_since is not None:
            self.say(f"the Batch service answers again after {self.clock() - self.down_since:.0f}s")
            self.down_since = None
