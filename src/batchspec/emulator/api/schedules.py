"""Job schedule routes: create, list, get, exists, update, replace, disable, enable, terminate,
delete, and the jobs a schedule made."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from batchspec.emulator.api.pipeline import read_json
from batchspec.emulator.api.responses import (
    accepted,
    conditions,
    created,
    entity,
    entity_headers,
    listed,
)
from batchspec.emulator.service import schedules
from batchspec.emulator.service.runtime import Live


def _id(request: Request) -> str:
    return str(request.path_params["schedule_id"])


async def create_schedule(request: Request, live: Live) -> Response:
    """POST /jobschedules: 201, or 409 JobScheduleExists."""
    doc = schedules.create(live, await read_json(request))
    return created(doc, doc["url"])


async def list_schedules(request: Request, live: Live) -> Response:
    """GET /jobschedules."""
    return listed(request, live, "/jobschedules", "jobschedules", live.store.list_schedules())


async def schedule(request: Request, live: Live) -> Response:
    """GET, HEAD, PATCH, PUT and DELETE of one job schedule."""
    if request.method in ("GET", "HEAD"):
        doc = schedules.get(live, _id(request))
        if request.method == "HEAD":
            conditions(request).check(doc)
            return Response(status_code=200, headers=entity_headers(doc))
        return entity(request, doc, "jobschedules", live)
    cond = conditions(request)
    if request.method == "DELETE":
        schedules.delete(live, _id(request), cond)
        return accepted()
    body = await read_json(request)
    schedules.update(live, _id(request), body, request.method == "PUT", cond)
    return accepted(schedules.get(live, _id(request)), status=200)


async def schedule_action(request: Request, live: Live) -> Response:
    """POST .../disable, .../enable (204) and .../terminate (202)."""
    action = request.path_params["action"]
    cond = conditions(request)
    if action == "disable":
        schedules.disable(live, _id(request), cond)
    elif action == "enable":
        schedules.enable(live, _id(request), cond)
    else:
        schedules.terminate(live, _id(request), cond)
        return accepted(schedules.get(live, _id(request)))
    return accepted(schedules.get(live, _id(request)), status=204)


async def schedule_jobs(request: Request, live: Live) -> Response:
    """GET /jobschedules/{id}/jobs."""
    docs = schedules.list_jobs(live, _id(request))
    return listed(request, live, f"/jobschedules/{_id(request)}/jobs", "jobs", docs)
