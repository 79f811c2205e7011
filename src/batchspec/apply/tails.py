"""The last lines of a file on a node (StartTask output) or in a task's directory (stderr.txt).

Only the end of the file is fetched (an HTTP range from the file's size), so a task that wrote
gigabytes to stderr costs one small request, not a download.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from azure.batch import BatchClient
from azure.core.exceptions import AzureError, HttpResponseError

from batchspec.redact import describe_error, redact

TAIL_BYTES = 4096
TAIL_LINES = 20


def task_file_tail(client: BatchClient, job_id: str, task_id: str, path: str) -> str:
    """The redacted tail of a task's file (e.g. ``stderr.txt``), or a note why it is missing."""
    return _tail(
        lambda: int(client.get_task_file_properties(job_id, task_id, path).content_length),
        lambda rng: client.download_task_file(job_id, task_id, path, ocp_range=rng),
    )


def node_file_tail(client: BatchClient, pool_id: str, node_id: str, path: str) -> str:
    """The redacted tail of a node's file (e.g. ``startup/stderr.txt``), or a note why not."""
    return _tail(
        lambda: int(client.get_node_file_properties(pool_id, node_id, path).content_length),
        lambda rng: client.download_node_file(pool_id, node_id, path, ocp_range=rng),
    )


def last_lines(data: bytes, lines: int = TAIL_LINES) -> str:
    """The last `lines` lines of `data`, decoded leniently and redacted."""
    text = data.decode("utf-8", errors="replace").rstrip("\n")
    return redact("\n".join(text.splitlines()[-lines:]))


def _tail(size_of: Callable[[], int], fetch: Callable[[str | None], Iterable[bytes]]) -> str:
    try:
        size = size_of()
        if size == 0:
            return "(empty)"
        start = max(0, size - TAIL_BYTES)
        data = b"".join(fetch(f"bytes={start}-{size - 1}"))
    except HttpResponseError as exc:
        return f"(not available: {describe_error(exc)})"
    except (AzureError, ValueError, TypeError) as exc:
        # E.g. a task that failed before it ran (its resource file could not be fetched) has
        # no stderr.txt, and an answer the SDK cannot read must not become a traceback.
        return f"(not available: {describe_error(exc)})"
    if start > 0:
        # Drop the partial first line the range cut through: it may start inside a secret,
        # whose rest no redaction pattern would recognise.
        _, newline, rest = data.rstrip(b"\n").partition(b"\n")
        if not newline:
            return f"(the last line is longer than {TAIL_BYTES:,} bytes; not shown)"
        data = rest
    return last_lines(data)
