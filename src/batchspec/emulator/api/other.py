"""Routes of features the local service has none of (applications, job schedules, subtasks,
job preparation status), and the operations it refuses with one clear error instead of a
misleading 404.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from batchspec.emulator.api.pipeline import Handler
from batchspec.emulator.api.responses import page
from batchspec.emulator.service import errors, features
from batchspec.emulator.service.runtime import Live


async def list_applications(request: Request, live: Live) -> Response:
    """GET /applications: no application packages here, so an empty list."""
    return page(request, live, "/applications", "applications", iter(()))


async def get_application(request: Request, live: Live) -> Response:
    """GET /applications/{id}: 404 ApplicationNotFound."""
    features.get_application(live, request.path_params["application_id"])


async def list_job_schedules(request: Request, live: Live) -> Response:
    """GET /jobschedules: job schedules cannot be created here, so an empty list."""
    return page(request, live, "/jobschedules", "jobschedules", iter(()))


async def job_schedule(request: Request, live: Live) -> Response:
    """Any operation on one job schedule (or its jobs): 404 JobScheduleNotFound."""
    features.get_job_schedule(live, request.path_params["schedule_id"])


async def list_subtasks(request: Request, live: Live) -> Response:
    """GET .../subtasksinfo: a task that is not multi-instance has no subtasks (empty list)."""
    features.check_subtasks(live, request.path_params["job_id"], request.path_params["task_id"])
    return page(request, live, request.url.path, "subtaskinfo", iter(()))


async def preparation_status(request: Request, live: Live) -> Response:
    """GET .../jobpreparationandreleasetaskstatus: 409 for a job without those tasks."""
    features.preparation_status(live, request.path_params["job_id"])


def unsupported(operation: str) -> Handler:
    """A handler refusing `operation` with 400 UnsupportedOperation, naming it."""

    async def refuse(request: Request, live: Live) -> Response:
        raise errors.unsupported_operation(operation)

    return refuse


# Operations of the Batch API (azure-batch 15.x) that this service does not implement. Answering
# them with 404 ResourceNotFound would read as "the pool/job/node does not exist" to programs
# (the SDK's delete pollers treat a 404 as done).
UNSUPPORTED: list[tuple[str, str, str]] = [
    ("/poolusagemetrics", "GET", "ListPoolUsageMetrics"),
    ("/pools/{pool_id}/enableautoscale", "POST", "EnablePoolAutoScale"),
    ("/pools/{pool_id}/disableautoscale", "POST", "DisablePoolAutoScale"),
    ("/pools/{pool_id}/evaluateautoscale", "POST", "EvaluatePoolAutoScale"),
    ("/pools/{pool_id}/stopresize", "POST", "StopPoolResize"),
    ("/pools/{pool_id}/removenodes", "POST", "RemoveNodes"),
    ("/pools/{pool_id}/nodes/{node_id}/users", "POST", "CreateNodeUser"),
    ("/pools/{pool_id}/nodes/{node_id}/users/{user}", "PUT", "ReplaceNodeUser"),
    ("/pools/{pool_id}/nodes/{node_id}/users/{user}", "DELETE", "DeleteNodeUser"),
    ("/pools/{pool_id}/nodes/{node_id}/reboot", "POST", "RebootNode"),
    ("/pools/{pool_id}/nodes/{node_id}/reimage", "POST", "ReimageNode"),
    ("/pools/{pool_id}/nodes/{node_id}/start", "POST", "StartNode"),
    ("/pools/{pool_id}/nodes/{node_id}/deallocate", "POST", "DeallocateNode"),
    ("/pools/{pool_id}/nodes/{node_id}/remoteloginsettings", "GET", "GetRemoteLoginSettings"),
    ("/pools/{pool_id}/nodes/{node_id}/uploadbatchservicelogs", "POST", "UploadBatchServiceLogs"),
    ("/pools/{pool_id}/nodes/{node_id}/extensions", "GET", "ListNodeExtensions"),
    ("/pools/{pool_id}/nodes/{node_id}/extensions/{name}", "GET", "GetNodeExtension"),
    ("/jobs/{job_id}/disable", "POST", "DisableJob"),
    ("/jobs/{job_id}/enable", "POST", "EnableJob"),
    ("/jobschedules", "POST", "CreateJobSchedule"),
]
