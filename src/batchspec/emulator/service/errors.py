"""Every error the local Batch service answers with, one function per Batch error code.

Like Azurite's StorageErrorFactory: a route or rule says `errors.pool_exists()` and every
caller gets the same status, code and words. The JSON body is written by the API layer
(api/responses.py); this module holds no HTTP.
"""

from __future__ import annotations


class BatchError(Exception):
    """An error the service answers with: HTTP status, Batch error code, message, details."""

    def __init__(
        self, status: int, code: str, message: str, values: list[tuple[str, str]] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.values = values or []


# -- request format ----------------------------------------------------------------------------
def invalid_request_body() -> BatchError:
    """400: the body is not JSON, or not of the shape the operation reads."""
    return BatchError(
        400, "InvalidRequestBody", "The specified Request Body is not syntactically valid."
    )


def request_body_too_large(limit_name: str, limit: int) -> BatchError:
    """413: a body of 1 MiB or more, or a task collection of more than 100 tasks."""
    return BatchError(
        413,
        "RequestBodyTooLarge",
        "The request body is too large and exceeds the maximum permissible limit.",
        [(limit_name, str(limit))],
    )


def invalid_property(name: str, value: object, reason: str = "") -> BatchError:
    """400 InvalidPropertyValue naming the property, as Batch does."""
    values = [("PropertyName", name), ("PropertyValue", str(value))]
    if reason:
        values.append(("Reason", reason))
    return BatchError(
        400,
        "InvalidPropertyValue",
        "The value provided for one of the properties in the request body is invalid.",
        values,
    )


def missing_property(name: str) -> BatchError:
    """400 MissingRequiredProperty, as Batch answers a body without a required field."""
    return BatchError(
        400,
        "MissingRequiredProperty",
        "A required property was not specified in the request body.",
        [("PropertyName", name)],
    )


def invalid_header_value(name: str, value: str) -> BatchError:
    """400: a header (a date, a range) that cannot be read."""
    return BatchError(
        400,
        "InvalidHeaderValue",
        "The value for one of the HTTP headers is not in the correct format.",
        [("HeaderName", name), ("HeaderValue", value)],
    )


def invalid_query_parameter(name: str, value: str) -> BatchError:
    """400: `maxresults` out of range, a `$filter` that does not parse."""
    return BatchError(
        400,
        "InvalidQueryParameterValue",
        "Value for one of the query parameters specified in the request URI is invalid.",
        [("QueryParameterName", name), ("QueryParameterValue", value)],
    )


def invalid_uri(path: str) -> BatchError:
    """400: a URI that is no Batch resource."""
    return BatchError(
        400,
        "InvalidUri",
        "The requested URI does not represent any resource on the server.",
        [("UriPath", path)],
    )


def unsupported_verb() -> BatchError:
    """405: a Batch resource that does not take this method."""
    return BatchError(
        405, "UnsupportedHttpVerb", "The resource doesn't support the specified HTTP verb."
    )


def authentication_failed(reason: str) -> BatchError:
    """403: the Shared Key signature is missing or wrong (the reason never holds the key)."""
    return BatchError(403, "AuthenticationFailed", reason, [("AuthenticationErrorDetail", reason)])


def internal_error() -> BatchError:
    """500: a defect of the service (the SDK retries it; the traceback goes to the log)."""
    return BatchError(
        500, "InternalError", "The server encountered an internal error. Please retry."
    )


def unsupported_operation(operation: str) -> BatchError:
    """400: an operation of the Batch API that the local service does not implement."""
    return BatchError(
        400,
        "UnsupportedOperation",
        f"The operation {operation} is not supported by the local Batch service.",
        [("OperationName", operation)],
    )


# -- conditional requests ----------------------------------------------------------------------
def condition_not_met() -> BatchError:
    """412: If-Match, If-None-Match or a date condition failed on a write."""
    return BatchError(
        412,
        "ConditionNotMet",
        "The condition specified using HTTP conditional header(s) is not met.",
    )


def not_modified() -> BatchError:
    """304: a conditional read of an unchanged entity."""
    return BatchError(304, "ConditionNotMet", "The resource has not been modified.")


# -- resources ---------------------------------------------------------------------------------
def not_found(kind: str, what: str) -> BatchError:
    """404 with Batch's <Kind>NotFound code."""
    return BatchError(404, f"{kind}NotFound", f"The specified {what} does not exist.")


def pool_not_found() -> BatchError:
    """404 PoolNotFound."""
    return not_found("Pool", "pool")


def node_not_found() -> BatchError:
    """404 NodeNotFound."""
    return not_found("Node", "node")


def job_not_found() -> BatchError:
    """404 JobNotFound."""
    return not_found("Job", "job")


def task_not_found() -> BatchError:
    """404 TaskNotFound."""
    return not_found("Task", "task")


def file_not_found() -> BatchError:
    """404 FileNotFound."""
    return BatchError(404, "FileNotFound", "The specified file does not exist.")


def pool_exists() -> BatchError:
    """409 PoolExists."""
    return BatchError(409, "PoolExists", "The specified pool already exists.")


def job_exists() -> BatchError:
    """409 JobExists."""
    return BatchError(409, "JobExists", "The specified job already exists.")


def task_exists() -> BatchError:
    """409 TaskExists."""
    return BatchError(409, "TaskExists", "The specified task already exists.")


def pool_being_deleted() -> BatchError:
    """409 PoolBeingDeleted."""
    return BatchError(
        409,
        "PoolBeingDeleted",
        "The specified pool has been marked for deletion and is being reclaimed.",
    )


def job_completed() -> BatchError:
    """409 JobCompleted."""
    return BatchError(409, "JobCompleted", "The specified job is already in a completed state.")


def job_being_deleted() -> BatchError:
    """409 JobBeingDeleted."""
    return BatchError(
        409,
        "JobBeingDeleted",
        "The specified job has been marked for deletion and is being garbage collected.",
    )


def job_in_state(state: str) -> BatchError:
    """409 for a job that is completed, deleting or terminating (the code names the state)."""
    code = {
        "completed": "JobCompleted",
        "terminating": "JobBeingTerminated",
    }.get(state, "JobBeingDeleted")
    return BatchError(409, code, f"The specified job is in the {state} state.")


def job_pool_change() -> BatchError:
    """409: a job's pool changes only while the job is disabled."""
    return BatchError(
        409,
        "OperationInvalidForCurrentState",
        "The pool of a job can only be changed while the job is disabled.",
        [("PropertyName", "poolInfo")],
    )


def task_dependencies_not_specified() -> BatchError:
    """400: a task with dependsOn in a job without usesTaskDependencies."""
    return BatchError(
        400,
        "TaskDependenciesNotSpecifiedOnJob",
        "The Task has dependencies but the job does not use task dependencies.",
    )


def task_not_reactivatable(state: str) -> BatchError:
    """409: only a task that completed with a failure can be reactivated."""
    return BatchError(
        409,
        "TaskNotInFailedState" if state == "completed" else "TaskNotCompleted",
        "Only a task that completed with a failure can be reactivated.",
    )


def task_not_yet_started() -> BatchError:
    """409: the task has no node yet, so no files."""
    return BatchError(
        409,
        "TaskNotYetStarted",
        "The task has not been scheduled to a node yet, so it has no files.",
    )


def task_files_unavailable() -> BatchError:
    """409: a task that completed without running has no files."""
    return BatchError(
        409, "TaskFilesUnavailable", "The files of the specified task are unavailable."
    )


def directory_not_empty() -> BatchError:
    """409: deleting a non-empty directory without recursive."""
    return BatchError(409, "DirectoryNotEmpty", "The directory is not empty; use recursive.")


def invalid_range() -> BatchError:
    """416: a byte range starting past the end of the file."""
    return BatchError(
        416, "InvalidRange", "The range specified is invalid for the current size of the file."
    )


def job_preparation_not_specified() -> BatchError:
    """409: the preparation/release status of a job without those tasks."""
    return BatchError(
        409,
        "JobPreparationTaskNotSpecified",
        "The specified job does not have a job preparation task.",
    )
