"""The Starlette application: every route of the Batch REST API subset, behind Shared Key."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from batchspec.emulator import routes_files as files
from batchspec.emulator import routes_jobs as jobs
from batchspec.emulator import routes_pools as pools
from batchspec.emulator import routes_tasks as tasks
from batchspec.emulator.http import Handler, error_response, route
from batchspec.emulator.state import Live
from batchspec.emulator.wire import BatchError

_ROUTES: list[tuple[str, Handler, list[str]]] = [
    ("/pools", pools.create_pool, ["POST"]),
    ("/pools", pools.list_pools, ["GET"]),
    ("/pools/{pool_id}", pools.get_pool, ["GET", "HEAD"]),
    ("/pools/{pool_id}", pools.delete_pool, ["DELETE"]),
    ("/pools/{pool_id}", pools.update_pool, ["PATCH"]),
    ("/pools/{pool_id}/resize", pools.resize_pool, ["POST"]),
    ("/pools/{pool_id}/updateproperties", pools.replace_pool_properties, ["POST"]),
    ("/pools/{pool_id}/nodes", pools.list_nodes, ["GET"]),
    ("/pools/{pool_id}/nodes/{node_id}", pools.get_node, ["GET"]),
    ("/pools/{pool_id}/nodes/{node_id}/disablescheduling", pools.set_node_scheduling, ["POST"]),
    ("/pools/{pool_id}/nodes/{node_id}/enablescheduling", pools.set_node_scheduling, ["POST"]),
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
]


def build_app(live: Live) -> Starlette:
    """The ASGI app serving `live`; unknown paths get Batch's error body."""

    async def unsupported(request: Request, exc: Exception) -> Response:
        status = getattr(exc, "status_code", 404)
        code = "UnsupportedOperation" if status == 405 else "ResourceNotFound"
        message = (
            "The requested operation is not supported by the local Batch service."
            if status == 405
            else "The specified resource does not exist."
        )
        return error_response(request, live, BatchError(status, code, message))

    routes = [
        Route(path, route(handler, live), methods=methods) for path, handler, methods in _ROUTES
    ]
    return Starlette(routes=routes, exception_handlers={404: unsupported, 405: unsupported})
