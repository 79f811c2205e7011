"""Checks before anything is created: what Batch or Storage would refuse, asked first.

apply runs them before its first container, upload or pool, and `plan --refresh` shows them.
Each problem is one located diagnostic at the spec value it is about:

- the image and node agent SKU against the account's supported images (`list_supported_images`,
  which the local Batch service answers too), so `ubuntu-24_04-lts` with
  `batch.node.ubuntu 22.04` is refused before a container exists;
- the VM size: a name Azure uses, one Batch supports, and an Arm size only with an arm64 image;
- task slots per node within Batch's limit for the size (4 per vCPU, at most 256);
- a container that exists with other settings (public access: the spec's containers are
  private), a pool that exists with other settings (unless apply may recreate it);
- the job id: free, or the job of the run being continued;
- an existing pool the spec names (`pool: {existing: ID}`): it must be there (and nothing of
  its image or size is checked: it is not the spec's); an auto pool has no pool id to check.

Only read requests are sent.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar
from urllib.parse import quote

from azure.batch import BatchClient
from azure.batch import models as bm
from azure.core.exceptions import AzureError, ResourceNotFoundError
from azure.storage.blob import BlobServiceClient

from batchspec.apply.ownership import read_batch_mark
from batchspec.diagnostics import Diagnostic
from batchspec.errors import RunFailed, SpecError
from batchspec.live.vm_sizes import parse_vm_size, unsupported_reason
from batchspec.plan.model import ImagePlan, Plan
from batchspec.redact import describe_error
from batchspec.spec.document import JsonPath, format_json_path
from batchspec.targets import Target

T = TypeVar("T")


@dataclass(frozen=True)
class Problem:
    """One reason Batch or Storage would refuse the plan, at a spec value."""

    path: JsonPath
    message: str


@dataclass(frozen=True)
class Expectation:
    """What the caller knows about the run the checks are for."""

    resuming: bool = False
    """apply continues a run whose job may already exist."""
    recreate_pool: bool = False
    """apply may delete and recreate a pool with other settings."""


def check(
    plan: Plan, batch: BatchClient, blobs: BlobServiceClient, expect: Expectation
) -> list[Problem]:
    """Every problem found, in spec order; an empty list when apply may go ahead."""
    problems = []
    if not plan.pool.existing:
        problems += image_problems(plan.pool.image, list(batch.list_supported_images()))
        problems += size_problems(plan)
    problems += container_problems(plan, blobs)
    problems += pool_problems(plan, batch, blobs.url.rstrip("/"), expect)
    problems += job_problems(plan, batch, expect)
    return problems


def image_problems(image: ImagePlan, supported: Iterable[bm.BatchSupportedImage]) -> list[Problem]:
    """The image must be one the account supports, with the node agent SKU that goes with it."""
    wanted = (image.publisher.lower(), image.offer.lower(), image.sku.lower())
    agents: set[str] = set()
    for item in supported:
        ref = item.image_reference
        have = (ref.publisher or "", ref.offer or "", ref.sku or "")
        if tuple(part.lower() for part in have) == wanted:
            agents.add(item.node_agent_sku_id)
    name = f"{image.publisher} {image.offer} {image.sku}"
    if not agents:
        return [
            Problem(
                ("pool", "image", "offer"),
                f"image {name!r} is not among the Batch account's supported images "
                "(az batch pool supported-images list shows them)",
            )
        ]
    if image.node_agent_sku_id.lower() not in {a.lower() for a in agents}:
        use = " or ".join(repr(a) for a in sorted(agents))
        return [
            Problem(
                ("pool", "image", "node_agent"),
                f"node agent {image.node_agent_sku_id!r} does not go with image {name!r}: "
                f"use {use}",
            )
        ]
    return []


def size_problems(plan: Plan) -> list[Problem]:
    """The VM size must be one Batch takes, and the task slots within its limit for the size."""
    pool = plan.pool
    unsupported = unsupported_reason(pool.vm_size)
    if unsupported:
        return [Problem(("pool", "vm_size"), unsupported)]
    size = parse_vm_size(pool.vm_size)
    if size is None:
        return [
            Problem(
                ("pool", "vm_size"),
                f"{pool.vm_size!r} is not an Azure VM size name (Standard_<family><vCPUs>"
                "<features>[_v<version>], e.g. standard_d2s_v3)",
            )
        ]
    problems = []
    image = pool.image
    arm_image = "arm64" in f"{image.sku} {image.offer} {image.node_agent_sku_id}".lower()
    if size.arm and not arm_image:
        problems.append(
            Problem(
                ("pool", "vm_size"),
                f"{pool.vm_size} is an Arm64 size (the 'p' in its name); image "
                f"{image.offer} {image.sku} is not an arm64 image",
            )
        )
    limit = size.max_task_slots()
    if pool.task_slots_per_node > limit:
        problems.append(
            Problem(
                ("pool", "task_slots_per_node"),
                f"{pool.task_slots_per_node} task slots per node is over Batch's limit for "
                f"{pool.vm_size} ({size.vcpus} vCPUs): at most {limit} (4 per vCPU, up to 256)",
            )
        )
    return problems


def container_problems(plan: Plan, blobs: BlobServiceClient) -> list[Problem]:
    """An existing container must be private, as the containers batchspec creates are."""
    problems = []
    for container in plan.containers:
        try:
            props = blobs.get_container_client(container.name).get_container_properties()
        except ResourceNotFoundError:
            continue
        if props.public_access:
            problems.append(
                Problem(
                    ("containers", container.key, "name"),
                    f"container {container.name} exists with public access "
                    f"{props.public_access!r}; a spec's containers are private (tasks reach "
                    "them with SAS tokens): make it private or name another container",
                )
            )
    return problems


def pool_problems(
    plan: Plan, batch: BatchClient, blob_endpoint: str, expect: Expectation
) -> list[Problem]:
    """An existing pool must have the spec's settings (its size may differ: apply resizes it)."""
    from batchspec.apply.pool import NODE_COUNT_PREFIX, pool_differences

    if plan.pool.lifetime == "job":
        return []  # Batch names an auto pool when it makes it: no id to collide with
    existing = _get(lambda: batch.get_pool(plan.pool.id))
    if plan.pool.existing:
        if existing is None or existing.state == bm.BatchPoolState.DELETING:
            state = "does not exist" if existing is None else "is being deleted"
            return [
                Problem(
                    ("pool", "existing"),
                    f"pool {plan.pool.id} {state}; the spec runs on it as an existing pool and "
                    "never creates it: create it first, or give the spec a pool of its own",
                )
            ]
        return []
    if existing is None or existing.state == bm.BatchPoolState.DELETING:
        return []
    differences = [
        d
        for d in pool_differences(existing, unsigned_pool(plan, blob_endpoint))
        if not d.startswith(NODE_COUNT_PREFIX)
    ]
    if not differences or expect.recreate_pool:
        return []
    return [
        Problem(
            ("pool", "id"),
            f"pool {plan.pool.id} exists with other settings ({'; '.join(differences)}): "
            "change the pool id, or apply with --recreate-pool to delete and recreate it",
        )
    ]


def job_problems(plan: Plan, batch: BatchClient, expect: Expectation) -> list[Problem]:
    """The job id must be free, or be the job of the run apply continues (for a scheduled
    spec: the schedule's id, free or the schedule this spec made)."""
    if plan.schedule is not None:
        return schedule_problems(plan, batch)
    existing = _get(lambda: batch.get_job(plan.job.id))
    if existing is None:
        return []
    mark = read_batch_mark(existing.metadata)
    if mark is not None:
        # A job of this checkout is continued; one another checkout's run owns (the same spec
        # content from elsewhere) is refused by apply.job with whose it is and what to do.
        return []
    if expect.resuming:
        return []  # made by this run before jobs carried a mark
    return [
        Problem(
            ("job", "id"),
            f"job {plan.job.id} already exists and was not made by batchspec (state "
            f"{_value(existing.state)}): delete it, or change the job id",
        )
    ]


def schedule_problems(plan: Plan, batch: BatchClient) -> list[Problem]:
    """A schedule of the spec's id must be this checkout's, or none (apply never takes one
    over; `apply.schedule` names the owner of a schedule another checkout made)."""
    existing = _get(lambda: batch.get_job_schedule(plan.job.id))
    if existing is None or read_batch_mark(existing.metadata) is not None:
        return []
    return [
        Problem(
            ("job", "id"),
            f"job schedule {plan.job.id} already exists and was not made by batchspec (state "
            f"{_value(existing.state)}): delete it, or change the job id",
        )
    ]


def unsigned_pool(plan: Plan, blob_endpoint: str) -> bm.BatchPoolCreateOptions:
    """The pool apply would create, with resource file URLs left unsigned (for comparing)."""
    from batchspec.apply.batch_models import BatchModels

    return BatchModels(plan, _Unsigned(blob_endpoint)).pool()


def located(spec: Path, problems: Iterable[Problem]) -> list[Diagnostic]:
    """Problems as `file:line:col: $.path: message`, at the values they are about."""
    from batchspec.spec.document import LoadedSpec
    from batchspec.spec.load import load_spec

    loaded = load_spec(spec)
    out = []
    for problem in problems:
        line, col = loaded.locate(problem.path) if isinstance(loaded, LoadedSpec) else (1, 1)
        path = format_json_path(problem.path)
        out.append(Diagnostic(str(spec), line, col, path, problem.message))
    return sorted(out)


class _Unsigned:
    """A UrlSigner that signs nothing: pool comparisons look at where files come from only.

    The URLs are the ones `SasIssuer` makes, without their query.
    """

    def __init__(self, blob_endpoint: str) -> None:
        self._endpoint = blob_endpoint

    def blob_url(self, container_name: str, blob: str) -> str:
        return f"{self.container_read_url(container_name)}/{quote(blob, safe='/~')}"

    def container_read_url(self, container_name: str) -> str:
        return f"{self._endpoint}/{quote(container_name, safe='')}"

    def container_write_url(self, container_name: str) -> str:
        return self.container_read_url(container_name)


def _get(fetch: Callable[[], T]) -> T | None:
    try:
        return fetch()
    except ResourceNotFoundError:
        return None


def _value(state: object) -> str:
    return str(getattr(state, "value", state))


def refuse_unfit(plan: Plan, target: Target, spec: Path, expect: Expectation) -> None:
    """Run `check` on the target's own clients; raise PreflightFailed (exit 2) on a problem."""
    batch, blobs = target.batch_client(), target.blob_service()
    try:
        problems = located(spec, check(plan, batch, blobs, expect))
    except AzureError as exc:
        what = f"checking {target.name} before creating anything"
        raise RunFailed(f"{what}: {describe_error(exc)}") from None
    finally:
        batch.close()
        blobs.close()
    if problems:
        raise PreflightFailed(spec, target.name, problems)


class PreflightFailed(SpecError):
    """The target would refuse the plan: one located line per problem, then a summary."""

    def __init__(self, spec: Path, target: str, problems: Sequence[Diagnostic]) -> None:
        count = len(problems)
        super().__init__(
            f"{spec}: {count} problem{'s' if count != 1 else ''} on {target}; nothing was created"
        )
        self.problems = tuple(problems)

    def lines(self) -> list[str]:
        return [*map(str, self.problems), f"error: {self.message}"]
