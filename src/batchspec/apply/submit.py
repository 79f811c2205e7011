"""Adding tasks: add-collection requests of 100 tasks, several at once, retried through faults.

Tasks go in waves of `WAVE` (ten collections); after each wave the caller journals how many
tasks are known to be added, so a resumed run starts at the first unjournaled wave. Re-adding
a task that is already in the job is answered with TaskExists, which counts as added: this is
what makes resubmission safe, after a killed run and after a request whose answer was lost.

The SDK's `create_tasks` is not used: it re-queues a collection on every 5xx answer with no
limit (an outage makes apply wait forever) and gives up on the first dropped connection (a
transient network fault fails the run). Here a collection that meets a service or connection
fault is sent again a bounded number of times, then the run stops with the service's reason.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from azure.batch import BatchClient
from azure.batch import models as bm
from azure.core.exceptions import HttpResponseError, ServiceRequestError, ServiceResponseError

from batchspec.apply.batch_models import BatchModels
from batchspec.apply.service_faults import is_transient
from batchspec.errors import RunFailed
from batchspec.plan.model import TaskPlan
from batchspec.redact import describe_error, redact

COLLECTION = 100
"""Batch's limit on tasks per add-collection request."""
WAVE = 10 * COLLECTION
SHOWN_FAILURES = 5
ATTEMPTS = 4
"""Requests per collection through service faults (each one already retried by azure-core)."""
BACKOFF_SECONDS = 2.0
"""Wait before the second request; doubled before each further one."""


class SubmitError(RunFailed):
    """Some tasks could not be added; the message names them and the service's reasons."""


@dataclass(frozen=True)
class SubmitSummary:
    added: int
    """Tasks added by this call."""
    existing: int
    """Tasks that were already in the job (added by an interrupted run)."""


@dataclass
class _Outcome:
    """What became of one collection."""

    added: int = 0
    existing: int = 0
    failures: list[bm.BatchTaskCreateResult] = field(default_factory=list)
    errors: list[Exception] = field(default_factory=list)
    unsent: list[bm.BatchTaskCreateOptions] = field(default_factory=list)


def submit_tasks(
    client: BatchClient,
    job_id: str,
    tasks: Sequence[TaskPlan],
    models: BatchModels,
    *,
    start: int = 0,
    concurrency: int = 4,
    on_wave: Callable[[int], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    warn: Callable[[str], None] | None = None,
) -> SubmitSummary:
    """Add `tasks[start:]` to the job; `on_wave(n)` is called once the first n tasks are in.

    `warn` is told, once, that a collection met a service fault and is being sent again.
    Raises SubmitError when the service refuses a task, or keeps failing a collection.
    """
    retrying = _Once(warn)
    added = existing = 0
    total = len(tasks)
    for first in range(start, total, WAVE):
        last = min(first + WAVE, total)
        wave = [models.task(tasks[i]) for i in range(first, last)]
        chunks = [wave[i : i + COLLECTION] for i in range(0, len(wave), COLLECTION)]
        threads = min(concurrency, math.ceil(len(wave) / COLLECTION))
        with ThreadPoolExecutor(threads, thread_name_prefix="add-tasks") as pool:
            outcomes = list(pool.map(lambda c: _add(client, job_id, c, sleep, retrying), chunks))
        failures = [f for o in outcomes for f in o.failures]
        errors = [e for o in outcomes for e in o.errors]
        if errors and not failures and all(is_transient(e) for e in errors):
            reasons = "; ".join(dict.fromkeys(describe_error(e) for e in errors))
            raise SubmitError(
                f"could not add tasks: the Batch service did not take them in {ATTEMPTS} "
                f"attempts ({reasons})"
            )
        if failures or errors:
            unsent = [t for o in outcomes for t in o.unsent]
            raise SubmitError(
                describe_create_tasks_error(bm.CreateTasksError(unsent, failures, errors))
            )
        added += sum(o.added for o in outcomes)
        existing += sum(o.existing for o in outcomes)
        if on_wave is not None:
            on_wave(last)
    return SubmitSummary(added=added, existing=existing)


def _add(
    client: BatchClient,
    job_id: str,
    tasks: list[bm.BatchTaskCreateOptions],
    sleep: Callable[[float], None],
    retrying: Callable[[str], None],
) -> _Outcome:
    """Add one collection, sending it again (only the tasks still pending) through faults."""
    outcome = _Outcome()
    pending = tasks
    last: Exception | list[bm.BatchTaskCreateResult] = []
    for attempt in range(ATTEMPTS):
        if attempt:
            reason = describe_error(last) if isinstance(last, Exception) else "server errors"
            retrying(
                f"the Batch service did not take a task collection ({reason}); "
                f"sending it again, up to {ATTEMPTS} times in all"
            )
            sleep(BACKOFF_SECONDS * 2 ** (attempt - 1))
        try:
            result = client.create_task_collection(job_id, bm.BatchTaskGroup(task_values=pending))
        except HttpResponseError as exc:
            code = exc.error.code if exc.error is not None else None
            if code == "RequestBodyTooLarge" and len(pending) > 1:
                # Tasks with large command lines or many resource files: halve the collection.
                half = len(pending) // 2
                for part in (pending[:half], pending[half:]):
                    _merge(outcome, _add(client, job_id, part, sleep, retrying))
                return outcome
            if not is_transient(exc):
                outcome.errors.append(exc)
                outcome.unsent = pending
                return outcome
            last = exc
            continue
        except (ServiceRequestError, ServiceResponseError) as exc:
            # No answer: the service may or may not have added them; TaskExists will tell.
            last = exc
            continue
        server_errors: list[bm.BatchTaskCreateResult] = []
        for item in result.result_values or []:
            if item.status == bm.BatchTaskAddStatus.SERVER_ERROR:
                server_errors.append(item)
            elif item.error is not None and item.error.code == "TaskExists":
                # On a later request, most likely this call's own earlier add that got
                # through without an answer; only the summary's wording depends on it.
                if attempt:
                    outcome.added += 1
                else:
                    outcome.existing += 1
            elif item.status == bm.BatchTaskAddStatus.CLIENT_ERROR:
                outcome.failures.append(item)
            else:
                outcome.added += 1
        answered = {item.task_id for item in result.result_values or []}
        again = {item.task_id for item in server_errors}
        # A task the answer does not mention is sent again too: it is not known to be added.
        pending = [t for t in pending if t.id in again or t.id not in answered]
        if not pending:
            return outcome
        last = server_errors
    if isinstance(last, Exception):
        outcome.errors.append(last)
    else:
        outcome.failures += last
        if len(last) < len(pending):
            unanswered = len(pending) - len(last)
            outcome.errors.append(RuntimeError(f"no answer for {unanswered} task(s)"))
    outcome.unsent = pending
    return outcome


class _Once:
    """Passes on the first message only (collections are added from several threads)."""

    def __init__(self, say: Callable[[str], None] | None) -> None:
        self._say, self._lock, self._said = say, threading.Lock(), False

    def __call__(self, message: str) -> None:
        with self._lock:
            if self._said or self._say is None:
                return
            self._said = True
        self._say(message)


def _merge(into: _Outcome, part: _Outcome) -> None:
    into.added += part.added
    into.existing += part.existing
    into.failures += part.failures
    into.errors += part.errors
    into.unsent += part.unsent


def describe_create_tasks_error(exc: bm.CreateTasksError) -> str:
    """One line naming the tasks the service refused (first few) and any request errors."""
    parts: list[str] = []
    failures = list(exc.failure_tasks or [])
    for item in failures[:SHOWN_FAILURES]:
        parts.append(f"task {item.task_id}: {_reason(item)}")
    if len(failures) > SHOWN_FAILURES:
        parts.append(f"and {len(failures) - SHOWN_FAILURES} more task(s)")
    # Collections that met the same outage fail alike: say each reason once.
    reasons = dict.fromkeys(describe_error(e) for e in exc.errors or [])
    parts += list(reasons)[:SHOWN_FAILURES]
    return "could not add tasks: " + "; ".join(parts)


def _reason(item: bm.BatchTaskCreateResult) -> str:
    error = item.error
    if error is None:
        return str(item.status)
    message = error.message.value if error.message is not None else ""
    text = f"{error.code}: {message}"
    details = "; ".join(f"{d.key}={d.value}" for d in error.error_values or [])
    return redact(f"{text} ({details})" if details else text)
