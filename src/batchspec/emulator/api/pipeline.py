"""The request pipeline of every route: Host, Shared Key and date checks (api/guards.py), the
handler, Batch's errors.

A handler parses the request, calls the service and answers; a BatchError it raises becomes
Batch's error body, and a defect becomes InternalError (with the traceback in the log).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from batchspec.emulator.api import auth, guards
from batchspec.emulator.api.responses import error_response, request_ids
from batchspec.emulator.service import errors
from batchspec.emulator.service.errors import BatchError
from batchspec.emulator.service.runtime import Live

log = logging.getLogger(__name__)

MAX_BODY = 1024 * 1024  # Batch refuses request bodies of 1 MiB or more with RequestBodyTooLarge.

Handler = Callable[[Request, Live], Awaitable[Response]]


def route(handler: Handler, live: Live) -> Callable[[Request], Awaitable[Response]]:
    """Wrap a handler: verify the signature, map BatchError to its error response."""

    async def endpoint(request: Request) -> Response:
        refused = guards.host_problem(request.headers.get("host"))
        if refused is not None:
            return error_response(request, live, refused)
        headers = {k.lower(): v for k, v in request.headers.items()}
        query = request.scope.get("query_string", b"").decode("latin-1")
        reason = auth.verify(
            headers.get("authorization"),
            request.method,
            request.scope.get("raw_path", b"").decode("latin-1") or request.url.path,
            query,
            headers,
            live.account,
            live.key,
        ) or guards.date_problem(headers)
        if reason is not None:
            return error_response(request, live, errors.authentication_failed(reason))
        refused = guards.duplicate_parameter(query)
        if refused is not None:
            return error_response(request, live, refused)
        try:
            response = await handler(request, live)
        except BatchError as failed:
            return error_response(request, live, failed)
        except ClientDisconnect:
            # The client went away, or its connection was closed for sending its body too
            # slowly (api/timeouts.py): nobody is left to answer.
            return Response(status_code=400)
        except (TypeError, AttributeError, KeyError, ValueError):
            # A body of the wrong shape (a string where an object belongs...): Batch answers
            # 400 for a body it cannot read, so do the same rather than a 500.
            log.debug("unreadable request body", exc_info=True)
            return error_response(request, live, errors.invalid_request_body())
        except Exception:
            # A defect here must still answer as the service does (a Batch body, not a bare
            # 500 page): the SDK retries InternalError, and the traceback goes to the log.
            log.exception("%s %s failed", request.method, request.url.path)
            return error_response(request, live, errors.internal_error())
        for k, v in request_ids(request).items():
            response.headers.setdefault(k, v)
        return response

    return endpoint


def _too_large() -> BatchError:
    return errors.request_body_too_large("MaxLimit", MAX_BODY)


async def read_json(request: Request) -> Any:
    """The request body as JSON, refusing bodies Batch would refuse.

    An announced or received length of 1 MiB or more is refused as soon as it is known: the
    body is neither waited for nor held in memory.
    """
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) >= MAX_BODY:
        raise _too_large()
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size >= MAX_BODY:
            raise _too_large()
        chunks.append(chunk)
    raw = b"".join(chunks)
    try:
        body = json.loads(raw or b"{}")
    except (ValueError, RecursionError):  # RecursionError: nested deeper than Python goes
        raise errors.invalid_request_body() from None
    if _depth(body) > MAX_DEPTH:
        raise errors.invalid_request_body()
    return body


MAX_DEPTH = 64  # no Batch body comes near; deeper ones are refused before anything reads them


def _depth(value: Any) -> int:
    """How deeply a JSON value nests (iteratively: the body may be very deep)."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            return depth
        deepest = max(deepest, depth)
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return deepest
