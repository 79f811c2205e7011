"""HTTP plumbing shared by the routes: Shared Key check, JSON bodies, Batch's response headers,
error bodies, and list paging with `odata.nextLink`.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import uuid
from collections.abc import Awaitable, Callable, Iterable
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from batchspec.emulator import auth
from batchspec.emulator.odata import compile_filter
from batchspec.emulator.resources import public
from batchspec.emulator.state import Live
from batchspec.emulator.wire import BatchError, Doc, parse_iso, rfc1123, select

log = logging.getLogger(__name__)

API_VERSION = "2025-06-01"
MAX_BODY = 1024 * 1024  # Batch refuses request bodies of 1 MiB or more with RequestBodyTooLarge.
_JSON = "application/json;odata=minimalmetadata"

Handler = Callable[[Request, Live], Awaitable[Response]]


def _request_ids(request: Request) -> dict[str, str]:
    headers = {"request-id": str(uuid.uuid4()), "DataServiceVersion": "3.0"}
    client = request.headers.get("client-request-id")
    if client:
        headers["client-request-id"] = client
    return headers


def error_response(request: Request, live: Live, err: BatchError) -> Response:
    """A Batch error body with the status and headers the service uses."""
    headers = _request_ids(request)
    body = err.body(live.endpoint, headers["request-id"])
    if request.method == "HEAD" or err.status == 304:
        return Response(status_code=err.status, headers=headers)
    return JSONResponse(body, status_code=err.status, headers=headers, media_type=_JSON)


def route(handler: Handler, live: Live) -> Callable[[Request], Awaitable[Response]]:
    """Wrap a handler: verify the signature, map BatchError to its error response."""

    async def endpoint(request: Request) -> Response:
        reason = auth.verify(
            request.headers.get("authorization"),
            request.method,
            request.scope.get("raw_path", b"").decode("latin-1") or request.url.path,
            request.scope.get("query_string", b"").decode("latin-1"),
            {k.lower(): v for k, v in request.headers.items()},
            live.account,
            live.key,
        )
        if reason is not None:
            err = BatchError(
                403, "AuthenticationFailed", reason, [("AuthenticationErrorDetail", reason)]
            )
            return error_response(request, live, err)
        try:
            response = await handler(request, live)
        except BatchError as failed:
            return error_response(request, live, failed)
        except (TypeError, AttributeError, KeyError, ValueError):
            # A body of the wrong shape (a string where an object belongs...): Batch answers
            # 400 for a body it cannot read, so do the same rather than a 500.
            log.debug("unreadable request body", exc_info=True)
            unreadable = BatchError(
                400, "InvalidRequestBody", "The specified Request Body is not syntactically valid."
            )
            return error_response(request, live, unreadable)
        except Exception:
            # A defect here must still answer as the service does (a Batch body, not a bare
            # 500 page): the SDK retries InternalError, and the traceback goes to the log.
            log.exception("%s %s failed", request.method, request.url.path)
            internal = BatchError(
                500, "InternalError", "The server encountered an internal error. Please retry."
            )
            return error_response(request, live, internal)
        for k, v in _request_ids(request).items():
            response.headers.setdefault(k, v)
        return response

    return endpoint


def _too_large() -> BatchError:
    return BatchError(
        413,
        "RequestBodyTooLarge",
        "The request body is too large and exceeds the maximum permissible limit.",
        [("MaxLimit", str(MAX_BODY))],
    )


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
        return json.loads(raw or b"{}")
    except ValueError:
        raise BatchError(
            400, "InvalidRequestBody", "The specified Request Body is not syntactically valid."
        ) from None


def entity_headers(doc: Doc) -> dict[str, str]:
    """ETag, Last-Modified and DataServiceId (the entity's URL) for one entity."""
    headers = {"ETag": str(doc.get("eTag", ""))}
    if doc.get("url"):
        headers["DataServiceId"] = str(doc["url"])
    if doc.get("lastModified"):
        headers["Last-Modified"] = rfc1123(parse_iso(doc["lastModified"]))
    return headers


def _http_date(request: Request, name: str) -> dt.datetime | None:
    raw = request.headers.get(name)
    if not raw:
        return None
    try:
        return parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        raise BatchError(
            400,
            "InvalidHeaderValue",
            "The value for one of the HTTP headers is not in the correct format.",
            [("HeaderName", name), ("HeaderValue", raw)],
        ) from None


def _not_met() -> BatchError:
    return BatchError(
        412,
        "ConditionNotMet",
        "The condition specified using HTTP conditional header(s) is not met.",
    )


def check_conditions(request: Request, doc: Doc) -> None:
    """If-Match / If-None-Match against the entity's ETag, If-Modified-Since /
    If-Unmodified-Since against its last modification (412 ConditionNotMet; 304 on a read).

    The SDK sends these on gets and on every write of a pool, job or task (`etag` with
    `match_condition`, `if_modified_since`, `if_unmodified_since`).
    """
    reading = request.method in ("GET", "HEAD")
    etag = str(doc.get("eTag", ""))
    if_match = request.headers.get("if-match")
    if if_match and if_match != "*" and if_match.strip('"') != etag:
        raise _not_met()
    none_match = request.headers.get("if-none-match")
    if none_match and (none_match == "*" or none_match.strip('"') == etag):
        # A read of an unchanged entity is "not modified"; a write is a failed precondition.
        if reading:
            raise BatchError(304, "ConditionNotMet", "The resource has not been modified.")
        raise _not_met()
    modified_since = _http_date(request, "if-modified-since")
    unmodified_since = _http_date(request, "if-unmodified-since")
    if not (modified_since or unmodified_since) or not doc.get("lastModified"):
        return
    # HTTP dates have whole seconds: compare at that precision.
    changed = parse_iso(doc["lastModified"]).replace(microsecond=0)
    if unmodified_since and changed > unmodified_since:
        raise _not_met()
    if modified_since and changed <= modified_since:
        if reading:
            raise BatchError(304, "ConditionNotMet", "The resource has not been modified.")
        raise _not_met()


def entity(request: Request, doc: Doc, metadata: str, live: Live) -> Response:
    """200 with one entity, honouring $select."""
    check_conditions(request, doc)
    body = select(public(doc), request.query_params.get("$select"))
    body = {"odata.metadata": f"{live.endpoint}/$metadata#{metadata}/@Element", **body}
    return JSONResponse(body, headers=entity_headers(doc), media_type=_JSON)


def created(doc: Doc, url: str) -> Response:
    """201 Created with DataServiceId and Location, as Batch answers a create."""
    headers = {**entity_headers(doc), "DataServiceId": url, "Location": url}
    return Response(status_code=201, headers=headers)


def accepted(doc: Doc | None = None, status: int = 202) -> Response:
    """202 Accepted (or another empty status) for the long-running operations."""
    return Response(status_code=status, headers=entity_headers(doc) if doc else {})


def max_results(request: Request, default: int = 1000) -> int:
    """The page size asked for (1-1000, as Batch allows)."""
    raw = request.query_params.get("maxresults")
    if raw is None:
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= 1000:
        raise BatchError(
            400,
            "InvalidQueryParameterValue",
            "Value for one of the query parameters specified in the request URI is invalid.",
            [("QueryParameterName", "maxresults"), ("QueryParameterValue", raw)],
        )
    return int(raw)


def page(
    request: Request, live: Live, path: str, metadata: str, rows: Iterable[tuple[int, Doc]]
) -> Response:
    """A list page: rows (cursor, doc) after $skiptoken, filtered, selected, with nextLink."""
    limit = max_results(request)
    predicate = compile_filter(request.query_params.get("$filter"))
    fields = request.query_params.get("$select")
    values: list[Doc] = []
    last = None
    more = False
    for cursor, doc in rows:
        if not predicate(doc):
            continue
        if len(values) == limit:
            more = True
            break
        values.append(select(public(doc), fields))
        last = cursor
    body: Doc = {"odata.metadata": f"{live.endpoint}/$metadata#{metadata}", "value": values}
    if more and last is not None:
        params = {"api-version": API_VERSION, "maxresults": str(limit), "$skiptoken": str(last)}
        for name in ("$filter", "$select", "recursive"):
            if request.query_params.get(name):
                params[name] = request.query_params[name]
        body["odata.nextLink"] = f"{live.endpoint}{path}?{urlencode(params)}"
    return JSONResponse(body, media_type=_JSON)


def skiptoken(request: Request) -> int:
    """The paging cursor from `$skiptoken` (0 for the first page)."""
    raw = request.query_params.get("$skiptoken", "0")
    return int(raw) if raw.lstrip("-").isdigit() else 0
