"""All of a job's tasks: expand every template, check ids and dependencies, keep them bounded.

Every task is rendered once, to check it. Up to MATERIALIZE_LIMIT tasks the rendered TaskPlans
are kept in a tuple (their equal parts shared, see tasks.shared): about 0.25 KB a task beyond
its text. Above it only ids and dependencies are kept and the plan's `tasks` is a LazyTasks that
renders again on demand, so memory stays bounded up to MAX_TASKS.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from batchspec.plan.depends import DependencyResolver, find_cycle
from batchspec.plan.model import TaskPlan, UploadPlan
from batchspec.plan.tasks import (
    CompiledTask,
    LazyTasks,
    compile_task,
    describe_item,
    render_task,
    task_context,
)
from batchspec.spec.document import JsonPath
from batchspec.spec.factories import blob_item, expand, item_count, value_count
from batchspec.spec.model import ContainerForeach, JobSpec, Spec, SweepForeach, TaskTemplate
from batchspec.spec.render import Renderer

BATCH_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
MATERIALIZE_LIMIT = 200_000
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

    @classmethod
    def of(cls, spec: Spec, uploads: Sequence[UploadPlan], spec_dir: Path) -> Uploaded:
        blobs: dict[str, list[dict[str, Any]]] = {}
        for u in uploads:
            blobs.setdefault(u.container, []).append(blob_item(u.blob, u.source, u.size, spec_dir))
        return cls(
            blobs,
            frozenset(u.container for u in spec.uploads),
            frozenset(c.key for c in spec.containers),
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
    items = expand(foreach, blobs)
    if item_count(items) == 0:
        where: JsonPath = foreach.where if foreach is not None else template.where
        if isinstance(foreach, ContainerForeach):
            message = f"no blob uploaded into {foreach.container!r} matches {foreach.match!r}"
            where = (*foreach.where, "match")
        elif isinstance(foreach, SweepForeach):
            empty = next(p for p in foreach.parameters if value_count(p.values) == 0)
            message = f"the sweep parameter {empty.name!r} has no values (an empty range)"
            where = empty.where
        else:
            message = "the factory makes no task"
        renderer.report(where, message)
        return None
    return items


def plan_tasks(
    renderer: Renderer, job: JobSpec, base: Mapping[str, Any], uploaded: Uploaded
) -> Sequence[TaskPlan] | None:
    """Render and check every task; None when anything is wrong (see renderer.problems).

    Every template that compiles is rendered for every item, so all template errors come out
    in one run; ids are checked against each other only when every task rendered.
    """
    compiled: list[CompiledTask] = []
    total = 0
    retries = job.retries
    known_problems = len(renderer.problems)
    failed = False
    for template in job.tasks:
        items = _items(renderer, template, uploaded)
        if items is None:
            failed = True
            continue
        total += item_count(items)
        task = compile_task(renderer, template, items)
        if task is None:
            failed = True
        else:
            compiled.append(task)
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
    for task in compiled:
        where_id = (*task.template.where, "id")
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
            if depends:
                raw_depends[position] = depends
            if keep:
                plans.append(plan)
    if failed or len(renderer.problems) > known_problems:
        return None  # the ids are incomplete: dependency checks would only add noise

    resolved = _resolve_depends(renderer, ids, raw_depends, compiled)
    if resolved is None:
        return None
    if keep:
        return tuple(
            replace(p, depends_on=resolved[i]) if i in resolved else p for i, p in enumerate(plans)
        )
    return LazyTasks(renderer, compiled, base, retries, resolved, ids)


def _template_of(compiled: Sequence[CompiledTask], position: int) -> tuple[CompiledTask, int]:
    start = 0
    for task in compiled:
        if position < start + len(task.items):
            return task, position - start
        start += len(task.items)
    raise IndexError(position)


def _resolve_depends(
    renderer: Renderer,
    ids: Sequence[str],
    raw: Mapping[int, tuple[str, ...]],
    compiled: Sequence[CompiledTask],
) -> dict[int, tuple[str, ...]] | None:
    resolved: dict[int, tuple[str, ...]] = {}
    if not raw:
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
    cycle = find_cycle({ids[p]: deps for p, deps in resolved.items()})
    if cycle is not None:
        position = ids.index(cycle[0])
        task, _ = _template_of(compiled, position)
        renderer.report(
            (*task.template.where, "depends_on"),
            "the task dependencies form a cycle: " + " -> ".join(cycle),
        )
        return None
    return resolved
