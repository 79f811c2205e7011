"""The Starlette application: every route of the Batch REST API subset, behind Shared Key.

The routing table below is the whole API surface; each handler parses its request, calls the
service layer (which holds Batch's rules) and writes the answer.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from batchspec.emulator.api import files, jobs, nodes, other, pools, tasks
from batchspec.emulator.api.pipeline import Handler, route
from batchspec.emulator.api.responses import error_response
from batchspec.emulator.service import errors
from batchspec.emulator.service.runtime import Live

_ROUTES: list[tuple[str, Handler, list[str]]] = [
    ("/pools", pools.create_pool, ["POST"]),
    ("/pools", pools.list_pools, ["GET"]),
    ("/pools/{pool_id}", pools.get_pool, ["GET", "HEAD"]),
    ("/pools/{pool_id}", pools.delete_pool, ["DELETE"]),
    ("/pools/{pool_id}", pools.update_pool, ["PATCH"]),
    ("/pools/{pool_id}/resize", pools.resize_pool, ["POST"]),
    ("/pools/{pool_id}/updateproperties", pools.replace_pool_properties, ["POST"]),
    ("/pools/{pool_id}/nodes", nodes.list_nodes, ["GET"]),
    ("/pools/{pool_id}/nodes/{node_id}", nodes.get_node, ["GET"]),
    ("/pools/{pool_id}/nodes/{node_id}/disablescheduling", nodes.set_node_scheduling, ["POST"]),
    ("/pools/{pool_id}/nodes/{node_id}/enablescheduling", nodes.set_node_scheduling, ["POST"]),
    ("/pools/{pool_id}/nodes/{node_id}/files", files.list_node_files, ["GET"]),
    (
        "/pools/{pool_id}/nodes/{node_id}/files/{file_path:path}",
        files.node_file,
        ["GET", "HEAD", "DELETE"],
    ),
    ("/supportedimages", pools.list_images, ["GET"]),
    ("/nodecounts", pools.node_counts, ["GET"]),
    ("/jobs", jobs.create_job, ["POST"]),
    ("/jobs", jobs.list_jobs, ["GET"]),
    ("/jobs/{job_id}", jobs.get_job, ["GET"]),
    ("/jobs/{job_id}", jobs.update_job, ["PATCH", "PUT"]),
    ("/jobs/{job_id}", jobs.delete_job, ["DELETE"]),
    ("/jobs/{job_id}/terminate", jobs.terminate_job, ["POST"]),
    ("/jobs/{job_id}/taskcounts", jobs.task_counts, ["GET"]),
    ("/jobs/{job_id}/tasks", tasks.create_task, ["POST"]),
    ("/jobs/{job_id}/tasks", tasks.list_tasks, ["GET"]),
    ("/jobs/{job_id}/addtaskcollection", tasks.create_task_collection, ["POST"]),
    ("/jobs/{job_id}/tasks/{task_id}", tasks.get_task, ["GET"]),
    ("/jobs/{job_id}/tasks/{task_id}", tasks.delete_task, ["DELETE"]),
    ("/jobs/{job_id}/tasks/{task_id}", tasks.replace_task, ["PUT"]),
    ("/jobs/{job_id}/tasks/{task_id}/terminate", tasks.terminate_task, ["POST"]),
    ("/jobs/{job_id}/tasks/{task_id}/reactivate", tasks.reactivate_task, ["POST"]),
    ("/jobs/{job_id}/tasks/{task_id}/files", files.list_task_files, ["GET"]),
    (
        "/jobs/{job_id}/tasks/{task_id}/files/{file_path:path}",
        files.task_file,
        ["GET", "HEAD", "DELETE"],
    ),
    ("/jobs/{job_id}/tasks/{task_id}/subtasksinfo", other.list_subtasks, ["GET"]),
    ("/jobs/{job_id}/jobpreparationandreleasetaskstatus", other.preparation_status, ["GET"]),
    ("/applications", other.list_applications, ["GET"]),
    ("/applications/{application_id}", other.get_application, ["GET"]),
    ("/jobschedules", other.list_job_schedules, ["GET"]),
    (
        "/jobschedules/{schedule_id}",
        other.job_schedule,
        ["GET", "HEAD", "PATCH", "PUT", "DELETE"],
    ),
    ("/jobschedules/{schedule_id}/{action}", other.job_schedule, ["GET", "POST"]),
    *((path, other.unsupported(name), [method]) for path, method, name in other.UNSUPPORTED),
]


def build_app(live: Live) -> Starlette:
    """The ASGI app serving `live`; unknown paths get Batch's error body."""

    async def unsupported(request: Request, exc: Exception) -> Response:
        # What the service answers for a URI that is no Batch resource, or a verb it does not
        # take there.
        if getattr(exc, "status_code", 404) == 405:
            err = errors.unsupported_verb()
        else:
            err = errors.invalid_uri(request.url.path)
        return error_response(request, live, err)

    routes = [
        Route(path, route(handler, live), methods=methods) for path, handler, methods in _ROUTES
    ]
    return Starlette(routes=routes, exception_handlers={404: unsupported, 405: unsupported})
