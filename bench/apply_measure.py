"""Measuring apply: HTTP requests and response bytes per SDK call, seconds, peak memory.

Requests are counted at azure-core's transport, below both SDKs, so every call the Batch and
Blob clients make (including retries and pages) is seen.
"""

from __future__ import annotations

import resource
import threading
import time
import tracemalloc
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from azure.core.pipeline.transport import RequestsTransport


@dataclass
class Traffic:
    requests: int = 0
    response_bytes: int = 0
    by_kind: Counter[str] = field(default_factory=Counter)


_lock = threading.Lock()
_traffic = Traffic()


def _kind(method: str, url: str) -> str:
    path = urlsplit(url).path.strip("/").split("/")
    # "/jobs/j/tasks/t" -> "GET jobs/*/tasks/*"; blob paths collapse to "blob".
    if path and path[0] in ("pools", "jobs", "nodes", "poolusagemetrics", "taskcounts"):
        shape = "/".join(p if i % 2 == 0 else "*" for i, p in enumerate(path))
    else:
        shape = "blob"
    return f"{method} {shape}"


_original_send = RequestsTransport.send


def _counting_send(self: RequestsTransport, request: Any, **kwargs: Any) -> Any:
    response = _original_send(self, request, **kwargs)
    length = int(response.headers.get("Content-Length") or 0)
    with _lock:
        _traffic.requests += 1
        _traffic.response_bytes += length
        _traffic.by_kind[_kind(request.method, request.url)] += 1
    return response


@contextmanager
def counting() -> Iterator[Traffic]:
    """Count every request the Azure SDK clients send inside the block."""
    global _traffic
    _traffic = Traffic()
    RequestsTransport.send = _counting_send  # type: ignore[method-assign]
    try:
        yield _traffic
    finally:
        RequestsTransport.send = _original_send  # type: ignore[method-assign]


@dataclass
class Measured:
    seconds: float = 0.0
    peak_python_mb: float = 0.0
    max_rss_mb: float = 0.0


@contextmanager
def measured() -> Iterator[Measured]:
    """Wall-clock seconds, peak Python heap (tracemalloc) and the process's peak RSS."""
    result = Measured()
    tracemalloc.start()
    started = time.perf_counter()
    try:
        yield result
    finally:
        result.seconds = time.perf_counter() - started
        result.peak_python_mb = tracemalloc.get_traced_memory()[1] / 1e6
        tracemalloc.stop()
        result.max_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
