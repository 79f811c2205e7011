"""All of a job's tasks: expand every template, check ids and dependencies, keep them bounded.

Every task is rendered once, to check it. Up to MATERIALIZE_LIMIT tasks the rendered TaskPlans
are kept in a tuple (their equal parts shared, see tasks.shared): about 0.25 KB a task beyond
its text. Above it only ids and dependencies are kept and the plan's `tasks` is a LazyTasks that
renders again on demand, so memory stays bounded up to MAX_TASKS.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from batchspec.plan.depends import DependencyResolver, find_cycle
from batchspec.plan.exits import MAX_RANGE_EDGES, check_ranges, range_edges, range_ids
from batchspec.plan.listing import ListingRequest, Listings
from batchspec.plan.model import ResourceFilePlan, TaskPlan, UploadPlan
from batchspec.plan.stored_blobs import Expansion, listed_rows, without_stand_ins
from batchspec.plan.tasks import (
    CompiledTask,
    LazyTasks,
    compile_resource_files,
    compile_task,
    describe_item,
    render_resource_files,
    render_task,
    task_context,
)
from batchspec.spec.datafile import DataFileError, read_rows
from batchspec.spec.document import JsonPath
from batchspec.spec.factories import blob_item, expand, item_count, value_count, zip_lengths
from batchspec.spec.model import (
    BlobsForeach,
    ContainerForeach,
    FileForeach,
    JobSpec,
    RangeForeach,
    Spec,
    SweepForeach,
    TaskTemplate,
    ZipForeach,
)
from batchspec.spec.render import Renderer
from batchspec.spec.typed import PerTaskField

BATCH_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
MATERIALIZE_LIMIT = 200_000
KEPT_CHARACTERS = 32_000_000
"""Most characters of rendered task values a plan keeps; a larger job is planned lazily, as a
big one is (1,500 tasks of 900,000-character command lines took 1.46 GB kept)."""
MAX_TASKS = 1_000_000
"""A job larger than this is refused at plan time rather than expanded."""


def batch_id_problem(value: str, what: str) -> str | None:
    """Why `value` is not a valid Batch id, or None."""
    if BATCH_ID.match(value):
        return None
    if not value:
        return f"the {what} renders to an empty string"
    if len(value) > 64:
        return f"the {what} {value[:70]!r}... is {len(value)} characters; Batch allows at most 64"
    bad = sorted({c for c in value if not (c.isascii() and (c.isalnum() or c in "-_"))})
    return (
        f"the {what} {value!r} has characters Batch does not allow ({''.join(bad)!r}); "
        "use letters, digits, hyphens and underscores"
    )


@dataclass(frozen=True, slots=True)
class Uploaded:
    """What container factories expand over: this spec's uploads, per container key."""

    blobs: Mapping[str, Sequence[dict[str, Any]]]
    """Container key -> one factory item per uploaded file."""
    declared: frozenset[str]
    """Keys some upload names, even one that failed (and was reported)."""
    container_keys: frozenset[str]
    """Every container key of the spec."""
    spec_dir: Path = Path(".")
    """Where a file factory's path is relative to."""
    requests: Mapping[JsonPath, ListingRequest] = field(default_factory=dict)
    """A `blobs:` factory's path -> what it lists (absent: its request was refused)."""
    listings: Listings | None = None
    """What the requests found; None for a plan made without storage (offline)."""

    @classmethod
    def of(cls, spec: Spec, uploads: Sequence[UploadPlan], spec_dir: Path) -> Uploaded:
        blobs: dict[str, list[dict[str, Any]]] = {}
        for u in uploads:
            blobs.setdefault(u.container, []).append(blob_item(u.blob, u.source, u.size, spec_dir))
        return cls(
            blobs,
            frozenset(u.container for u in spec.uploads),
            frozenset(c.key for c in spec.containers),
            spec_dir,
        )


def _items(renderer: Renderer, template: TaskTemplate, uploaded: Uploaded) -> Sequence[Any] | None:
    foreach = template.foreach
    blobs: Sequence[dict[str, Any]] = []
    if isinstance(foreach, ContainerForeach):
        if foreach.container not in uploaded.container_keys:
            return None  # reported with the other container references
        blobs = uploaded.blobs.get(foreach.container, ())
        if not blobs and foreach.container in uploaded.declared:
            return None  # its uploads matched nothing, which is reported already
        if not blobs:
            renderer.report(
                (*foreach.where, "container"),
                f"this spec uploads nothing into container {foreach.container!r}; factories over "
                "a container are expanded from this spec's uploads into it",
            )
            return None
    rows: Sequence[Any] = ()
    if isinstance(foreach, BlobsForeach):
        if foreach.container not in uploaded.container_keys:
            return None  # reported with the other container references
        listed = listed_rows(renderer, foreach, uploaded.requests, uploaded.listings, MAX_TASKS)
        if listed is None:
            return None
        rows = listed
    if isinstance(foreach, FileForeach):
        try:
            rows = read_rows(uploaded.spec_dir / foreach.file)
        except DataFileError as exc:
            renderer.report((*foreach.where, "file"), str(exc))
            return None
    if isinstance(foreach, ZipForeach):
        lengths = zip_lengths(foreach)
        if len({n for _, n in lengths}) > 1:
            shown = ", ".join(f"{name} has {n:,}" for name, n in lengths)
            renderer.report(
                (*foreach.where, "zip"),
                f"zipped lists must be equally long: {shown} (for every combination, use sweep)",
            )
            return None
    items = expand(foreach, blobs, rows)
    if item_count(items) == 0:
        where: JsonPath = foreach.where if foreach is not None else template.where
        if isinstance(foreach, ContainerForeach):
            message = f"no blob uploaded into {foreach.container!r} matches {foreach.match!r}"
            where = (*foreach.where, "match")
        elif isinstance(foreach, SweepForeach | ZipForeach):
            empty = next(p for p in foreach.parameters if value_count(p.values) == 0)
            kind = "sweep parameter" if isinstance(foreach, SweepForeach) else "zipped list"
            message = f"the {kind} {empty.name!r} has no values (an empty range)"
            where = empty.where
        elif isinstance(foreach, RangeForeach):
            message = "the range holds no number (its start is at or past its stop)"
            where = (*foreach.where, "range")
        elif isinstance(foreach, FileForeach):
            message = f"{foreach.file} holds no rows"
            where = (*foreach.where, "file")
        else:
            message = "the factory makes no task"
        renderer.report(where, message)
        return None
    return items


@dataclass(frozen=True, slots=True)
class TaskSettings:
    """What the tasks take from the rest of the spec."""

    windows: bool = False
    """The pool runs Windows: `commands:` are joined for cmd."""
    slots_per_node: int = 1
    per_task: Mapping[int, tuple[PerTaskField, ...]] = field(default_factory=dict)
    """Template index -> its typed fields that are rendered per task."""


def plan_tasks(
    renderer: Renderer,
    job: JobSpec,
    base: Mapping[str, Any],
    uploaded: Uploaded,
    settings: TaskSettings | None = None,
    expansion: Expansion | None = None,
) -> Sequence[TaskPlan] | None:
    """Render and check every task; None when anything is wrong (see renderer.problems).

    Every template that compiles is rendered for every item, so all template errors come out
    in one run; ids are checked against each other only when every task rendered.
    """
    expansion = expansion if expansion is not None else Expansion()
    numbers: list[int] = []
    deferred: set[int] = set()
    compiled: list[CompiledTask] = []
    total = 0
    retries = job.retries
    known_problems = len(renderer.errors)
    failed = False
    shared = _shared_files(renderer, job, base)
    if shared is None:
        failed = True
        shared = ()
    settings = settings or TaskSettings()
    for number, template in enumerate(job.tasks):
        items = _items(renderer, template, uploaded)
        if items is None:
            failed = True
            continue
        total += item_count(items)
        typed = settings.per_task.get(number, ())
        task = compile_task(
            renderer, template, items, shared, settings.windows, typed, settings.slots_per_node
        )
        if task is None:
            failed = True
        else:
            compiled.append(task)
            numbers.append(number)
            if isinstance(template.foreach, BlobsForeach) and uploaded.listings is None:
                deferred.add(number)
    if total > MAX_TASKS:
        renderer.report(
            ("job", "tasks"),
            f"the job would have {total:,} tasks; batchspec plans at most {MAX_TASKS:,}",
        )
        return None

    keep = total <= MATERIALIZE_LIMIT
    plans: list[TaskPlan] = []
    ids: list[str] = []
    raw_depends: dict[int, tuple[str, ...]] = {}
    seen: dict[str, int] = {}
    kept = 0
    for number, task in zip(numbers, compiled, strict=True):
        where_id = (*task.template.where, "id")
        expansion.spans[number] = (len(ids), item_count(task.items))
        for index, item in enumerate(task.items):
            what = describe_item(task, index, item)
            rendered = render_task(renderer, task, task_context(base, task, index), what, retries)
            if rendered is None:
                failed = True
                continue
            plan, depends = rendered
            position = len(ids)
            problem = batch_id_problem(plan.id, "task id")
            if problem is not None:
                renderer.fail(where_id, what + problem)
            folded = plan.id.lower()  # Batch task ids are unique regardless of case
            first = seen.setdefault(folded, position)
            if first != position:
                renderer.fail(
                    where_id,
                    f"{what}duplicate task id {plan.id!r} (task {first} of the job has it too)",
                )
            ids.append(plan.id)
            if number in deferred:
                expansion.examples[number] = plan
            if depends:
                raw_depends[position] = depends
            if keep:
                plans.append(plan)
                kept += _characters(plan)
                if kept > KEPT_CHARACTERS:
                    keep = False
                    plans.clear()
    if failed or len(renderer.errors) > known_problems:
        return None  # the ids are incomplete: dependency checks would only add noise

    ranged = _range_dependencies(renderer, ids, compiled)
    if ranged is None:
        return None
    resolved = _resolve_depends(renderer, ids, raw_depends, compiled, ranged)
    if resolved is None:
        return None
    if deferred:
        return without_stand_ins(
            LazyTasks(renderer, compiled, base, retries, {}, ids),
            resolved,
            ids,
            plans,
            keep,
            expansion,
        )
    if keep:
        return tuple(
            replace(p, depends_on=resolved[i]) if i in resolved else p for i, p in enumerate(plans)
        )
    return LazyTasks(renderer, compiled, base, retries, resolved, ids)


def _characters(plan: TaskPlan) -> int:
    """About how much text a TaskPlan holds."""
    size = len(plan.id) + len(plan.command_line)
    size += sum(len(k) + len(v) for k, v in plan.environment)
    size += sum(len(o.pattern) + len(o.path or "") for o in plan.outputs)
    for rf in plan.resource_files:
        size += sum(len(x or "") for x in (rf.blob, rf.prefix, rf.url, rf.file_path))
    return size


def _shared_files(
    renderer: Renderer, job: JobSpec, base: Mapping[str, Any]
) -> tuple[ResourceFilePlan, ...] | None:
    """The job's resource files, rendered once (they cannot name `item` or `index`)."""
    compiled = compile_resource_files(renderer, job.resource_files)
    if compiled is None:
        return None
    for rf in compiled:
        for part in (rf.blob, rf.prefix, rf.url, rf.path):
            if part is not None and part.per_task:
                renderer.report(
                    part.where,
                    "the job's resource files are the same for every task: `item` and `index` "
                    "belong in a task's own resource_files",
                )
                return None
    return render_resource_files(renderer, compiled, base)


def _template_of(compiled: Sequence[CompiledTask], position: int) -> tuple[CompiledTask, int]:
    start = 0
    for task in compiled:
        if position < start + len(task.items):
            return task, position - start
        start += len(task.items)
    raise IndexError(position)


def _range_dependencies(
    renderer: Renderer, ids: Sequence[str], compiled: Sequence[CompiledTask]
) -> dict[int, tuple[str, ...]] | None:
    """Position -> the task ids its `depends_on_ranges` stand for (for the cycle check only:
    Batch is sent the ranges); None when a range names tasks the job lacks (reported)."""
    templates = [task.template for task in compiled]
    if not any(t.depends_on_ranges for t in templates):
        return {}
    known = frozenset(ids)
    ok = all([check_ranges(renderer, t, known) for t in templates])
    if not ok:
        return None
    ranged: dict[int, tuple[str, ...]] = {}
    if range_edges(templates, [len(t.items) for t in compiled]) > MAX_RANGE_EDGES:
        return ranged  # too many to walk; each range was still checked against the job
    start = 0
    for task in compiled:
        if task.template.depends_on_ranges:
            shared = tuple(range_ids(task.template))  # one tuple: find_cycle walks it once
            for position in range(start, start + len(task.items)):
                ranged[position] = shared
        start += len(task.items)
    return ranged


def _resolve_depends(
    renderer: Renderer,
    ids: Sequence[str],
    raw: Mapping[int, tuple[str, ...]],
    compiled: Sequence[CompiledTask],
    ranged: Mapping[int, tuple[str, ...]],
) -> dict[int, tuple[str, ...]] | None:
    resolved: dict[int, tuple[str, ...]] = {}
    if not raw and not ranged:
        return resolved
    resolver = DependencyResolver(ids)
    ok = True
    for position, entries in raw.items():
        found, problems = resolver.expand(ids[position], entries)
        if problems:
            ok = False
            task, index = _template_of(compiled, position)
            what = describe_item(task, index, task.items[index])
            for problem in problems:
                renderer.fail((*task.template.where, "depends_on"), what + problem)
        resolved[position] = found
    if not ok:
        return None
    edges = {ids[p]: deps for p, deps in resolved.items()}
    for position, deps in ranged.items():
        written = edges.get(ids[position])
        edges[ids[position]] = (*written, *deps) if written else deps
    cycle = find_cycle(edges)
    if cycle is not None:
        position = ids.index(cycle[0])
        task, _ = _template_of(compiled, position)
        renderer.report(
            (*task.template.where, "depends_on"),
            "the task dependencies form a cycle: " + " -> ".join(cycle),
        )
        return None
    return resolved
