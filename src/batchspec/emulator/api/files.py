"""File routes of tasks and nodes: list, download (with ocp-range), properties (HEAD), delete."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from batchspec.emulator.api.responses import conditions, page, skiptoken
from batchspec.emulator.service import errors, files
from batchspec.emulator.service.files import Directory
from batchspec.emulator.service.runtime import Live
from batchspec.emulator.service.values import rfc1123


def _task_dir(request: Request, live: Live) -> Directory:
    p = request.path_params
    return files.task_directory(live, p["job_id"], p["task_id"])


def _node_dir(request: Request, live: Live) -> Directory:
    p = request.path_params
    return files.node_directory(live, p["pool_id"], p["node_id"])


def _recursive(request: Request) -> bool:
    return request.query_params.get("recursive", "false").lower() == "true"


async def list_task_files(request: Request, live: Live) -> Response:
    """GET .../tasks/{task}/files: the task directory's entries."""
    return _list(request, live, _task_dir(request, live))


async def list_node_files(request: Request, live: Live) -> Response:
    """GET .../nodes/{node}/files: the node root directory's entries."""
    return _list(request, live, _node_dir(request, live))


def _list(request: Request, live: Live, directory: Directory) -> Response:
    after = skiptoken(request)
    rows = ((i, d) for i, d in files.entries(directory, _recursive(request)) if i > after)
    return page(request, live, directory.url.removeprefix(live.endpoint), "files", rows)


async def task_file(request: Request, live: Live) -> Response:
    """GET/HEAD/DELETE one file of a task's directory."""
    return _file(request, _task_dir(request, live))


async def node_file(request: Request, live: Live) -> Response:
    """GET/HEAD/DELETE one file of a node's root directory."""
    return _file(request, _node_dir(request, live))


def _file(request: Request, directory: Directory) -> Response:
    relative = request.path_params["file_path"]
    if request.method == "DELETE":
        files.delete(files.deletable(directory.base, relative), _recursive(request))
        return Response(status_code=200)
    path = files.resolve(directory.base, relative)
    files.readable(path)
    props = files.properties(path)
    st = path.stat()
    conditions(request).check({"lastModified": props["lastModified"]})
    headers = {
        "ocp-creation-time": rfc1123(dt.datetime.fromtimestamp(st.st_ctime, dt.UTC)),
        "ocp-batch-file-isdirectory": "true" if path.is_dir() else "false",
        "ocp-batch-file-url": f"{directory.url}/{quote(relative)}",
        "ocp-batch-file-mode": props["fileMode"],
        "Last-Modified": rfc1123(dt.datetime.fromtimestamp(st.st_mtime, dt.UTC)),
        "ETag": f"0x{int(st.st_mtime_ns):X}",
    }
    media = props.get("contentType", "application/octet-stream")
    if request.method == "HEAD" or path.is_dir():
        headers["Content-Length"] = str(props["contentLength"])
        return Response(status_code=200, headers=headers, media_type=media)
    start, end = 0, st.st_size - 1
    ranged = request.headers.get("ocp-range")
    if ranged:
        start, end = _byte_range(ranged, st.st_size)
    length = max(0, min(end, st.st_size - 1) - start + 1)
    headers["Content-Length"] = str(length)
    # Read in chunks off the event loop (Starlette iterates a sync generator in a thread): a
    # large stdout.txt neither sits in memory whole nor stalls the other requests.
    return StreamingResponse(
        _chunks(path, start, length), status_code=200, headers=headers, media_type=media
    )


def _chunks(path: Path, start: int, length: int) -> Iterator[bytes]:
    with open(path, "rb") as f:
        f.seek(start)
        left = length
        while left > 0:
            chunk = f.read(min(1 << 20, left))
            if not chunk:
                # The file shrank since its size was read: the answer ends short and the
                # client sees an incomplete read rather than made-up bytes.
                return
            left -= len(chunk)
            yield chunk


_RANGE = re.compile(r"^bytes=(\d+)-(\d*)$")


def _byte_range(header: str, size: int) -> tuple[int, int]:
    """`ocp-range: bytes=start-[end]` as inclusive offsets; Batch's 400/416 errors otherwise."""
    m = _RANGE.match(header.strip())
    if not m or (m.group(2) and int(m.group(2)) < int(m.group(1))):
        raise errors.invalid_header_value("ocp-range", header)
    start = int(m.group(1))
    if start >= size and size > 0:
        raise errors.invalid_range()
    return start, int(m.group(2)) if m.group(2) else size - 1
