"""Job routes: create, list, get, update, terminate, delete, task counts."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from batchspec.emulator.api.pipeline import read_json
from batchspec.emulator.api.responses import accepted, conditions, created, entity, listed
from batchspec.emulator.service import jobs
from batchspec.emulator.service.runtime import Live


async def create_job(request: Request, live: Live) -> Response:
    """POST /jobs: 201, or 409 JobExists."""
    doc = jobs.create(live, await read_json(request))
    return created(doc, doc["url"])


async def list_jobs(request: Request, live: Live) -> Response:
    """GET /jobs, paged."""
    return listed(request, live, "/jobs", "jobs", jobs.list_all(live))


async def get_job(request: Request, live: Live) -> Response:
    """GET /jobs/{job}."""
    return entity(request, jobs.get(live, request.path_params["job_id"]), "jobs", live)


async def update_job(request: Request, live: Live) -> Response:
    """PATCH (update) and PUT (replace): 200."""
    cond = conditions(request)
    body = await read_json(request)
    replace = request.method == "PUT"
    job = jobs.update(live, request.path_params["job_id"], body, replace, cond)
    return accepted(job, status=200)


async def terminate_job(request: Request, live: Live) -> Response:
    """POST /jobs/{job}/terminate: 202."""
    cond = conditions(request)
    body = await read_json(request)
    reason = str(body.get("terminateReason") or "UserTerminate")
    job = jobs.terminate(live, request.path_params["job_id"], reason, cond)
    return accepted(job)


async def delete_job(request: Request, live: Live) -> Response:
    """DELETE /jobs/{job}: 202."""
    jobs.delete(live, request.path_params["job_id"], conditions(request))
    return accepted()


async def task_counts(request: Request, live: Live) -> Response:
    """GET /jobs/{job}/taskcounts."""
    return JSONResponse(jobs.task_counts(live, request.path_params["job_id"]))
