"""Batch's wire format: response headers, entity and list bodies (OData `$select`, paging with
`odata.nextLink`), error bodies, and the conditional headers of a request.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from email.utils import parsedate_to_datetime
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from batchspec.emulator.api.odata import compile_filter
from batchspec.emulator.service import errors
from batchspec.emulator.service.conditions import Conditions
from batchspec.emulator.service.containers import without_passwords
from batchspec.emulator.service.errors import BatchError
from batchspec.emulator.service.runtime import Live
from batchspec.emulator.service.values import Doc, parse_iso, rfc1123

API_VERSION = "2025-06-01"
# Where a registry password can be: a pool's container configuration, a (Start)Task's settings.
_MAY_HOLD_PASSWORDS = ("virtualMachineConfiguration", "startTask", "containerSettings")
JSON_TYPE = "application/json;odata=minimalmetadata"


def request_ids(request: Request) -> dict[str, str]:
    """The request-id (new) and client-request-id (echoed) headers of every answer."""
    headers = {"request-id": str(uuid.uuid4()), "DataServiceVersion": "3.0"}
    client = request.headers.get("client-request-id")
    if client:
        headers["client-request-id"] = client
    return headers


def error_body(err: BatchError, base_url: str, request_id: str) -> Doc:
    """The JSON error body as Batch sends it and azure-batch's BatchErrorFormat parses it."""
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f0Z")
    out: Doc = {
        "odata.metadata": f"{base_url}/$metadata#Microsoft.Azure.Batch.Protocol.Entities"
        ".Container.errors/@Element",
        "code": err.code,
        "message": {
            "lang": "en-US",
            "value": f"{err.message}\nRequestId:{request_id}\nTime:{stamp}",
        },
    }
    if err.values:
        out["values"] = [{"key": k, "value": v} for k, v in err.values]
    return out


def error_response(request: Request, live: Live, err: BatchError) -> Response:
    """A Batch error body with the status and headers the service uses."""
    headers = request_ids(request)
    body = error_body(err, live.endpoint, headers["request-id"])
    if request.method == "HEAD" or err.status == 304:
        return Response(status_code=err.status, headers=headers)
    return JSONResponse(body, status_code=err.status, headers=headers, media_type=JSON_TYPE)


def public(doc: Doc) -> Doc:
    """The document without the service's private bookkeeping keys or registry passwords."""
    kept = {k: v for k, v in doc.items() if not k.startswith("_")}
    if any(k in kept for k in _MAY_HOLD_PASSWORDS):
        kept = without_passwords(kept)
    return kept


def select(doc: Doc, fields: str | None) -> Doc:
    """Apply `$select`: keep only the named top-level properties."""
    if not fields:
        return doc
    wanted = {f.strip() for f in fields.split(",") if f.strip()}
    return {k: v for k, v in doc.items() if k in wanted}


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
        raise errors.invalid_header_value(name, raw) from None


def conditions(request: Request) -> Conditions:
    """The request's conditional headers (400 InvalidHeaderValue for a date that is none)."""
    return Conditions(
        reading=request.method in ("GET", "HEAD"),
        if_match=request.headers.get("if-match"),
        if_none_match=request.headers.get("if-none-match"),
        modified_since=_http_date(request, "if-modified-since"),
        unmodified_since=_http_date(request, "if-unmodified-since"),
    )


def entity(request: Request, doc: Doc, metadata: str, live: Live) -> Response:
    """200 with one entity, honouring the conditions and $select."""
    conditions(request).check(doc)
    body = select(public(doc), request.query_params.get("$select"))
    body = {"odata.metadata": f"{live.endpoint}/$metadata#{metadata}/@Element", **body}
    return JSONResponse(body, headers=entity_headers(doc), media_type=JSON_TYPE)


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
        raise errors.invalid_query_parameter("maxresults", raw)
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
    return JSONResponse(body, media_type=JSON_TYPE)


def listed(request: Request, live: Live, path: str, metadata: str, docs: Iterable[Doc]) -> Response:
    """A list page of documents numbered from 1 (the cursor), after $skiptoken."""
    after = skiptoken(request)
    rows = ((i, d) for i, d in enumerate(docs, 1) if i > after)
    return page(request, live, path, metadata, rows)


def skiptoken(request: Request) -> int:
    """The paging cursor from `$skiptoken` (0 for the first page)."""
    raw = request.query_params.get("$skiptoken", "0")
    return int(raw) if raw.lstrip("-").isdigit() else 0
