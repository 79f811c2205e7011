"""Which Batch requests may be sent again when their answer was lost.

azure-core resends a request that got no answer (a dropped connection, a reset) only for
idempotent methods; a POST that the service may already have carried out is left to the
caller. Batch's create requests are POSTs, and apply makes them safe to resend: a pool or job
that the first request created is answered with 409 on the second, which `ensure_pool` and
`ensure_job` judge like any existing pool or job (same settings: reused). Passing
`**RESEND_IF_UNANSWERED` to such a call lets azure-core's retry policy resend it too, within
the same bounded number of retries.
"""

from __future__ import annotations

from typing import Any

# azure-core's default allow-list (RetryPolicyBase) plus POST, as a per-call option.
_METHODS = frozenset({"HEAD", "GET", "PUT", "DELETE", "OPTIONS", "TRACE", "POST"})

RESEND_IF_UNANSWERED: dict[str, Any] = {"retry_on_methods": _METHODS}
