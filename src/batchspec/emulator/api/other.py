"""Routes of features the local service has little of: applications (none), subtasks (of
multi-instance tasks), job preparation and release status, certificates (retired on Batch), and
the operations it would refuse with one clear error instead of a misleading 404.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from batchspec.emulator.api.pipeline import Handler
from batchspec.emulator.api.responses import listed, page
from batchspec.emulator.service import errors, features
from batchspec.emulator.service.runtime import Live


async def list_applications(request: Request, live: Live) -> Response:
    """GET /applications: no application packages here, so an empty list."""
    return page(request, live, "/applications", "applications", iter(()))


async def get_application(request: Request, live: Live) -> Response:
    """GET /applications/{id}: 404 ApplicationNotFound."""
    features.get_application(live, request.path_params["application_id"])


async def list_subtasks(request: Request, live: Live) -> Response:
    """GET .../subtasksinfo: a multi-instance task's subtasks (none for other tasks)."""
    docs = features.subtasks(live, request.path_params["job_id"], request.path_params["task_id"])
    return listed(request, live, request.url.path, "subtaskinfo", docs)


async def preparation_status(request: Request, live: Live) -> Response:
    """GET .../jobpreparationandreleasetaskstatus: per node (409 for a job without them)."""
    job_id = request.path_params["job_id"]
    docs = features.preparation_status(live, job_id)
    path = f"/jobs/{job_id}/jobpreparationandreleasetaskstatus"
    return listed(request, live, path, "jobpreparationandreleasetaskstatuslist", docs)


async def certificates(request: Request, live: Live) -> Response:
    """Every certificate operation: 400 CertificateRetired, as Batch answers today."""
    features.certificates(live)


def unsupported(operation: str) -> Handler:
    """A handler refusing `operation` with 400 UnsupportedOperation, naming it."""

    async def refuse(request: Request, live: Live) -> Response:
        raise errors.unsupported_operation(operation)

    return refuse


# Operations of the Batch API (azure-batch 15.x) that this service does not implement. Answering
# them with 404 ResourceNotFound would read as "the pool/job/node does not exist" to programs
# (the SDK's delete pollers treat a 404 as done).
UNSUPPORTED: list[tuple[str, str, str]] = []
