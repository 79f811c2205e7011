"""Task files (the task directory on its node) and node files (the node's root directory):
list, download (with ocp-range), properties (HEAD) and delete.
"""

from __future__ import annotations

import datetime as dt
import mimetypes
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from batchspec.emulator.http import check_conditions, page, skiptoken
from batchspec.emulator.node import node_dirs
from batchspec.emulator.routes_tasks import get_task_doc
from batchspec.emulator.state import Live
from batchspec.emulator.wire import BatchError, Doc, iso, not_found, rfc1123


def _file_not_found() -> BatchError:
    return BatchError(404, "FileNotFound", "The specified file does not exist.")


def _task_base(live: Live, request: Request) -> tuple[Path, str]:
    job_id, task_id = request.path_params["job_id"], request.path_params["task_id"]
    task = get_task_doc(live, job_id, task_id)
    node_id = (task.get("nodeInfo") or {}).get("nodeId")
    if not node_id:
        if task["state"] == "active":
            raise BatchError(
                409,
                "TaskNotYetStarted",
                "The task has not been scheduled to a node yet, so it has no files.",
            )
        # Completed without ever running (terminated while queued): Batch's code for a task
        # whose files cannot be had.
        raise BatchError(
            409, "TaskFilesUnavailable", "The files of the specified task are unavailable."
        )
    job = live.store.get_job(job_id) or {"id": job_id}
    base = node_dirs(live.data_dir, node_id).task_dir(job["id"], task["id"])
    return base, f"{live.endpoint}/jobs/{job_id}/tasks/{task['id']}/files"


def _node_base(live: Live, request: Request) -> tuple[Path, str]:
    pool_id, node_id = request.path_params["pool_id"], request.path_params["node_id"]
    node = live.store.get_node(node_id)
    if node is None or str(node.get("_poolId", "")).lower() != pool_id.lower():
        raise not_found("Node", "node")
    return node_dirs(
        live.data_dir, node["id"]
    ).root, f"{live.endpoint}/pools/{pool_id}/nodes/{node['id']}/files"


def _resolve(base: Path, relative: str) -> Path:
    try:
        target = (base / relative).resolve()
        root = base.resolve()
        if target != root and root not in target.parents:
            raise _file_not_found()
        if not target.exists():
            raise _file_not_found()
    except (OSError, RuntimeError):  # a name too long for the file system; a loop of links
        # (Path.resolve reports a loop as RuntimeError)
        raise _file_not_found() from None
    return target


def _stat(path: Path) -> os.stat_result:
    # A task may leave a symbolic link whose target is gone: list the link itself.
    try:
        return path.stat()
    except OSError:
        return path.lstat()


def _props(path: Path) -> Doc:
    st = _stat(path)
    created = dt.datetime.fromtimestamp(st.st_ctime, dt.UTC)
    modified = dt.datetime.fromtimestamp(st.st_mtime, dt.UTC)
    out: Doc = {
        "creationTime": iso(created),
        "lastModified": iso(modified),
        "contentLength": 0 if path.is_dir() else st.st_size,
        "fileMode": oct(st.st_mode),
    }
    if path.is_file():
        out["contentType"] = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return out


def _entries(base: Path, url: str, recursive: bool) -> Iterator[tuple[int, Doc]]:
    if not base.exists():
        return
    paths = sorted(base.rglob("*") if recursive else base.iterdir())
    for i, path in enumerate(paths, 1):
        name = path.relative_to(base).as_posix()
        yield (
            i,
            {
                "name": name,
                "url": f"{url}/{quote(name)}",
                "isDirectory": path.is_dir(),
                "properties": _props(path),
            },
        )


async def list_task_files(request: Request, live: Live) -> Response:
    """GET .../tasks/{task}/files: the task directory's entries."""
    base, url = _task_base(live, request)
    return _list(request, live, base, url)


async def list_node_files(request: Request, live: Live) -> Response:
    """GET .../nodes/{node}/files: the node root directory's entries."""
    base, url = _node_base(live, request)
    return _list(request, live, base, url)


def _list(request: Request, live: Live, base: Path, url: str) -> Response:
    recursive = request.query_params.get("recursive", "false").lower() == "true"
    after = skiptoken(request)
    rows = ((i, d) for i, d in _entries(base, url, recursive) if i > after)
    return page(request, live, url.removeprefix(live.endpoint), "files", rows)


async def task_file(request: Request, live: Live) -> Response:
    """GET/HEAD/DELETE one file of a task's directory."""
    base, url = _task_base(live, request)
    return _file(request, base, url)


async def node_file(request: Request, live: Live) -> Response:
    """GET/HEAD/DELETE one file of a node's root directory."""
    base, url = _node_base(live, request)
    return _file(request, base, url)


def _file(request: Request, base: Path, url: str) -> Response:
    relative = request.path_params["file_path"]
    path = _resolve(base, relative)
    if request.method == "DELETE":
        recursive = request.query_params.get("recursive", "false").lower() == "true"
        if path.is_dir():
            # As on Batch: without recursive, only an empty directory can be deleted.
            if not recursive and any(path.iterdir()):
                raise BatchError(
                    409, "DirectoryNotEmpty", "The directory is not empty; use recursive."
                )
            shutil.rmtree(path)
        else:
            path.unlink()
        return Response(status_code=200)
    if not path.is_file() and not path.is_dir():
        # A FIFO, socket or device a task left: reading it could block for ever.
        raise _file_not_found()
    props = _props(path)
    st = path.stat()
    check_conditions(request, {"lastModified": props["lastModified"]})
    headers = {
        "ocp-creation-time": rfc1123(dt.datetime.fromtimestamp(st.st_ctime, dt.UTC)),
        "ocp-batch-file-isdirectory": "true" if path.is_dir() else "false",
        "ocp-batch-file-url": f"{url}/{quote(relative)}",
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
        raise BatchError(
            400,
            "InvalidHeaderValue",
            "The value for one of the HTTP headers is not in the correct format.",
            [("HeaderName", "ocp-range"), ("HeaderValue", header)],
        )
    start = int(m.group(1))
    if start >= size and size > 0:
        raise BatchError(
            416, "InvalidRange", "The range specified is invalid for the current size of the file."
        )
    return start, int(m.group(2)) if m.group(2) else size - 1
