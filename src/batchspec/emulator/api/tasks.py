"""Task routes: add one, add a collection, list, get, replace, terminate, reactivate, delete."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from batchspec.emulator.api.pipeline import read_json
from batchspec.emulator.api.responses import (
    accepted,
    conditions,
    created,
    entity,
    page,
    skiptoken,
)
from batchspec.emulator.service import tasks
from batchspec.emulator.service.runtime import Live


def _ids(request: Request) -> tuple[str, str]:
    return request.path_params["job_id"], request.path_params["task_id"]


async def create_task(request: Request, live: Live) -> Response:
    """POST /jobs/{job}/tasks: 201, or 409 TaskExists."""
    doc = tasks.add(live, request.path_params["job_id"], await read_json(request))
    return created(doc, doc["url"])


async def create_task_collection(request: Request, live: Live) -> Response:
    """POST /jobs/{job}/addtaskcollection: per-task results."""
    body = await read_json(request)
    results = tasks.add_collection(live, request.path_params["job_id"], body)
    return JSONResponse({"value": results})


async def list_tasks(request: Request, live: Live) -> Response:
    """GET /jobs/{job}/tasks, paged in creation order."""
    job_id, rows = tasks.rows(live, request.path_params["job_id"], skiptoken(request))
    return page(request, live, f"/jobs/{job_id}/tasks", "tasks", rows)


async def get_task(request: Request, live: Live) -> Response:
    """GET /jobs/{job}/tasks/{task}."""
    return entity(request, tasks.get(live, *_ids(request)), "tasks", live)


async def replace_task(request: Request, live: Live) -> Response:
    """PUT /jobs/{job}/tasks/{task}: 200."""
    cond = conditions(request)
    body = await read_json(request)
    return accepted(tasks.replace(live, *_ids(request), body, cond), status=200)


async def terminate_task(request: Request, live: Live) -> Response:
    """POST .../terminate: 204."""
    return accepted(tasks.terminate(live, *_ids(request), conditions(request)), status=204)


async def reactivate_task(request: Request, live: Live) -> Response:
    """POST .../reactivate: 204."""
    return accepted(tasks.reactivate(live, *_ids(request), conditions(request)), status=204)


async def delete_task(request: Request, live: Live) -> Response:
    """DELETE /jobs/{job}/tasks/{task}: 200."""
    tasks.delete(live, *_ids(request), conditions(request))
    return accepted(status=200)
