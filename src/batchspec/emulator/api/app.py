"""The Starlette application: every route of the Batch REST API subset, behind Shared Key.

The routing table below is the whole API surface; each handler parses its request, calls the
service layer (which holds Batch's rules) and writes the answer.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from batchspec.emulator.api import files, guards, jobs, nodes, other, pools, schedules, tasks
from batchspec.emulator.api.pipeline import Handler, route
from batchspec.emulator.api.responses import error_response
from batchspec.emulator.service import errors
from batchspec.emulator.service.runtime import Live

_P = "/pools/{pool_id}"
_N = "/pools/{pool_id}/nodes/{node_id}"
_J = "/jobs/{job_id}"
_T = "/jobs/{job_id}/tasks/{task_id}"
_S = "/jobschedules/{schedule_id}"
_CERT = "/certificates(thumbprintAlgorithm={algorithm},thumbprint={thumbprint})"

_ROUTES: list[tuple[str, Handler, list[str]]] = [
    ("/pools", pools.create_pool, ["POST"]),
    ("/pools", pools.list_pools, ["GET"]),
    (_P, pools.get_pool, ["GET", "HEAD"]),
    (_P, pools.delete_pool, ["DELETE"]),
    (_P, pools.update_pool, ["PATCH"]),
    (f"{_P}/resize", pools.resize_pool, ["POST"]),
    (f"{_P}/stopresize", pools.stop_resize, ["POST"]),
    (f"{_P}/removenodes", pools.remove_nodes, ["POST"]),
    (f"{_P}/updateproperties", pools.replace_pool_properties, ["POST"]),
    (f"{_P}/enableautoscale", pools.enable_autoscale, ["POST"]),
    (f"{_P}/disableautoscale", pools.disable_autoscale, ["POST"]),
    (f"{_P}/evaluateautoscale", pools.evaluate_autoscale, ["POST"]),
    ("/poolusagemetrics", pools.usage_metrics, ["GET"]),
    (f"{_P}/nodes", nodes.list_nodes, ["GET"]),
    (_N, nodes.get_node, ["GET"]),
    (f"{_N}/disablescheduling", nodes.set_node_scheduling, ["POST"]),
    (f"{_N}/enablescheduling", nodes.set_node_scheduling, ["POST"]),
    (f"{_N}/reboot", nodes.reboot_node, ["POST"]),
    (f"{_N}/reimage", nodes.reimage_node, ["POST"]),
    (f"{_N}/deallocate", nodes.deallocate_node, ["POST"]),
    (f"{_N}/start", nodes.start_node, ["POST"]),
    (f"{_N}/users", nodes.add_user, ["POST"]),
    (f"{_N}/users/{{user}}", nodes.node_user, ["PUT", "DELETE"]),
    (f"{_N}/remoteloginsettings", nodes.remote_login, ["GET"]),
    (f"{_N}/uploadbatchservicelogs", nodes.upload_logs, ["POST"]),
    (f"{_N}/extensions", nodes.list_extensions, ["GET"]),
    (f"{_N}/extensions/{{name}}", nodes.get_extension, ["GET"]),
    (f"{_N}/files", files.list_node_files, ["GET"]),
    (f"{_N}/files/{{file_path:path}}", files.node_file, ["GET", "HEAD", "DELETE"]),
    ("/supportedimages", pools.list_images, ["GET"]),
    ("/nodecounts", pools.node_counts, ["GET"]),
    ("/jobs", jobs.create_job, ["POST"]),
    ("/jobs", jobs.list_jobs, ["GET"]),
    (_J, jobs.get_job, ["GET"]),
    (_J, jobs.update_job, ["PATCH", "PUT"]),
    (_J, jobs.delete_job, ["DELETE"]),
    (f"{_J}/terminate", jobs.terminate_job, ["POST"]),
    (f"{_J}/disable", jobs.disable_job, ["POST"]),
    (f"{_J}/enable", jobs.enable_job, ["POST"]),
    (f"{_J}/taskcounts", jobs.task_counts, ["GET"]),
    (f"{_J}/tasks", tasks.create_task, ["POST"]),
    (f"{_J}/tasks", tasks.list_tasks, ["GET"]),
    (f"{_J}/addtaskcollection", tasks.create_task_collection, ["POST"]),
    (_T, tasks.get_task, ["GET"]),
    (_T, tasks.delete_task, ["DELETE"]),
    (_T, tasks.replace_task, ["PUT"]),
    (f"{_T}/terminate", tasks.terminate_task, ["POST"]),
    (f"{_T}/reactivate", tasks.reactivate_task, ["POST"]),
    (f"{_T}/files", files.list_task_files, ["GET"]),
    (f"{_T}/files/{{file_path:path}}", files.task_file, ["GET", "HEAD", "DELETE"]),
    (f"{_T}/subtasksinfo", other.list_subtasks, ["GET"]),
    (f"{_J}/jobpreparationandreleasetaskstatus", other.preparation_status, ["GET"]),
    ("/applications", other.list_applications, ["GET"]),
    ("/applications/{application_id}", other.get_application, ["GET"]),
    ("/jobschedules", schedules.create_schedule, ["POST"]),
    ("/jobschedules", schedules.list_schedules, ["GET"]),
    (_S, schedules.schedule, ["GET", "HEAD", "PATCH", "PUT", "DELETE"]),
    (f"{_S}/jobs", schedules.schedule_jobs, ["GET"]),
    (f"{_S}/{{action}}", schedules.schedule_action, ["POST"]),
    ("/certificates", other.certificates, ["GET", "POST"]),
    (_CERT, other.certificates, ["GET", "DELETE"]),
    (f"{_CERT}/canceldelete", other.certificates, ["POST"]),
    *((path, other.unsupported(name), [method]) for path, method, name in other.UNSUPPORTED),
]


def build_app(live: Live) -> Starlette:
    """The ASGI app serving `live`; unknown paths get Batch's error body."""

    async def unsupported(request: Request, exc: Exception) -> Response:
        # What the service answers for a URI that is no Batch resource, or a verb it does not
        # take there.
        refused = guards.host_problem(request.headers.get("host"))
        if refused is not None:
            return error_response(request, live, refused)
        if getattr(exc, "status_code", 404) == 405:
            err = errors.unsupported_verb()
        else:
            err = errors.invalid_uri(request.url.path)
        return error_response(request, live, err)

    routes = [
        Route(path, route(handler, live), methods=methods) for path, handler, methods in _ROUTES
    ]
    return Starlette(routes=routes, exception_handlers={404: unsupported, 405: unsupported})
