"""Task templates -> TaskPlans: compile once, render per item, and a lazy sequence for big jobs.

Rendering is deterministic (the sandbox offers no randomness and `run` is fixed), so the tasks
of a very large job are rendered once to check them and again, on demand, when the plan is
read: only the ids and dependencies are kept in between, and they are not rendered again.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any, TypeVar, overload

from batchspec.plan.commandline import command_problem, wrap_commands
from batchspec.plan.containers import CompiledContainer, compile_container, render_container
from batchspec.plan.model import OutputPlan, ResourceFilePlan, TaskPlan
from batchspec.spec.model import CommandSpec, ResourceFileSpec, TaskTemplate
from batchspec.spec.render import Compiled, Renderer

_T = TypeVar("_T")


@lru_cache(maxsize=4096)
def _first_equal(value: Any) -> Any:
    return value


def shared(value: _T) -> _T:
    """The first equal value seen (of the last few thousand distinct ones), else `value`.

    The resource files, outputs and environment of a template's tasks are mostly equal: one
    tuple for all of them keeps a plan of 100,000 tasks about 30 MB smaller.
    """
    result: _T = _first_equal(value)
    return result


@dataclass(frozen=True, slots=True)
class CompiledResourceFile:
    spec: ResourceFileSpec
    blob: Compiled | None
    prefix: Compiled | None
    url: Compiled | None
    path: Compiled | None


@dataclass(frozen=True, slots=True)
class CompiledTask:
    """A task template with every field compiled, and the items it is expanded over."""

    template: TaskTemplate
    items: Sequence[Any]
    id: Compiled
    commands: tuple[Compiled, ...]
    wrapped: bool
    environment: tuple[tuple[str, Compiled], ...]
    resource_files: tuple[CompiledResourceFile, ...]
    outputs: tuple[tuple[Compiled, Compiled], ...]
    depends_on: tuple[Compiled, ...]
    container: CompiledContainer | None = None


def compile_resource_files(
    renderer: Renderer, files: Sequence[ResourceFileSpec]
) -> tuple[CompiledResourceFile, ...] | None:
    """Compile the templated parts of resource files; None if any does not compile."""
    out = []
    ok = True
    for rf in files:
        parts = []
        for name in ("blob", "prefix", "url", "path"):
            source = getattr(rf, name)
            compiled = None if source is None else renderer.compile(source, (*rf.where, name))
            ok = ok and (source is None or compiled is not None)
            parts.append(compiled)
        out.append(CompiledResourceFile(rf, *parts))
    return tuple(out) if ok else None


def check_commands(renderer: Renderer, run: CommandSpec) -> None:
    """Report shell syntax that would break the command line Batch runs (see command_problem)."""
    if run.commands is None:
        problem = command_problem(run.command or "", joined=False, last=True)
        if problem is not None:
            renderer.report(run.where, problem)
        return
    for i, source in enumerate(run.commands):
        problem = command_problem(source, joined=True, last=i == len(run.commands) - 1)
        if problem is not None:
            renderer.report((*run.where, i), problem)


def compile_task(
    renderer: Renderer, template: TaskTemplate, items: Sequence[Any]
) -> CompiledTask | None:
    """Compile every template field of a task template once; None on a syntax error."""
    where = template.where
    run = template.run
    check_commands(renderer, run)
    wrapped = run.commands is not None
    sources = run.commands if run.commands is not None else (run.command or "",)
    compiled: list[Compiled | None] = []
    if wrapped:
        compiled = [renderer.compile(c, (*run.where, i)) for i, c in enumerate(sources)]
    else:
        compiled = [renderer.compile(sources[0], run.where)]
    task_id = renderer.compile(template.id, (*where, "id"))
    env = [(k, renderer.compile(v, (*where, "environment", k))) for k, v in template.environment]
    outputs = [
        (
            renderer.compile(o.pattern, (*o.where, "pattern")),
            renderer.compile(o.path, (*o.where, "path")),
        )
        for o in template.outputs
    ]
    deps = [
        renderer.compile(d, (*where, "depends_on", i)) for i, d in enumerate(template.depends_on)
    ]
    files = compile_resource_files(renderer, template.resource_files)
    container = compile_container(renderer, template.container_settings)
    parts: list[Compiled | None] = [task_id, *compiled, *(c for _, c in env), *deps]
    parts += [c for pair in outputs for c in pair]
    if files is None or task_id is None or any(p is None for p in parts):
        return None
    if template.container_settings is not None and container is None:
        return None
    return CompiledTask(
        template=template,
        items=items,
        id=task_id,
        commands=tuple(c for c in compiled if c is not None),
        wrapped=wrapped,
        environment=tuple((k, c) for k, c in env if c is not None),
        resource_files=files,
        outputs=tuple((p, q) for p, q in outputs if p is not None and q is not None),
        depends_on=tuple(d for d in deps if d is not None),
        container=container,
    )


def task_context(base: Mapping[str, Any], task: CompiledTask, index: int) -> dict[str, Any]:
    """The template context of the task made from item `index` of `task`."""
    if task.template.foreach is None:
        return dict(base)
    return {**base, "item": task.items[index], "index": index}


def describe_item(task: CompiledTask, index: int, item: Any) -> str:
    """A prefix naming which expansion of a factory a message is about."""
    if task.template.foreach is None:
        return ""
    text = repr(item)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"task {index} (item {text}): "


def render_resource_files(
    renderer: Renderer,
    files: Sequence[CompiledResourceFile],
    context: Mapping[str, Any],
    what: str = "",
) -> tuple[ResourceFilePlan, ...] | None:
    """Render resource files; None if any part fails."""
    out = []
    for rf in files:
        values: list[str | None] = []
        for part in (rf.blob, rf.prefix, rf.url, rf.path):
            if part is None:
                values.append(None)
                continue
            value = renderer.render(part, context, what)
            if value is None:
                return None
            values.append(value)
        blob, prefix, url, path = values
        if blob is not None and path is None:
            path = blob  # Batch requires a file path for a single-file URL
        problem = None if path is None else file_path_problem(path)
        if problem is not None:
            field = "path" if rf.path is not None else "blob"
            renderer.fail((*rf.spec.where, field), what + problem)
            return None
        out.append(ResourceFilePlan(rf.spec.container, blob, prefix, url, path))
    return tuple(out)


def file_path_problem(path: str) -> str | None:
    """Why Batch would refuse `path` as a resource file's destination, or None."""
    parts = path.replace("\\", "/").split("/")
    if path.startswith(("/", "\\")) or (len(path) > 1 and path[1] == ":"):
        return f"the destination {path!r} is absolute; Batch needs a path inside the task directory"
    if ".." in parts:
        return f"the destination {path!r} leaves the task directory ('..'), which Batch refuses"
    return None


def render_task(
    renderer: Renderer,
    task: CompiledTask,
    context: Mapping[str, Any],
    what: str,
    retries: int,
    known_id: str | None = None,
) -> tuple[TaskPlan, tuple[str, ...]] | None:
    """One TaskPlan (dependencies not yet expanded) and its rendered `depends_on` entries.

    `known_id`: the task's id as an earlier render of it gave; then neither the id nor the
    `depends_on` entries (already resolved) are rendered again.
    """
    failed = False

    def render(compiled: Compiled) -> str:
        nonlocal failed
        value = renderer.render(compiled, context, what)
        if value is None:
            failed = True
            return ""
        return value

    task_id = render(task.id) if known_id is None else known_id
    lines = [render(c) for c in task.commands]
    environment = shared(tuple((k, render(c)) for k, c in task.environment))
    outputs = shared(
        tuple(
            OutputPlan(render(p), o.container, render(q) or None, o.when)
            for (p, q), o in zip(task.outputs, task.template.outputs, strict=True)
        )
    )
    depends = tuple(render(d) for d in task.depends_on) if known_id is None else ()
    files = render_resource_files(renderer, task.resource_files, context, what)
    container = None
    if task.container is not None:
        container = render_container(renderer, task.container, context, what)
        failed = failed or container is None
    if failed or files is None:
        return None
    template = task.template
    plan = TaskPlan(
        id=task_id,
        command_line=wrap_commands(lines) if task.wrapped else lines[0],
        resource_files=shared(files),
        environment=environment,
        outputs=outputs,
        max_retries=retries if template.retries is None else template.retries,
        max_wall_clock_seconds=template.max_wall_clock_seconds,
        elevated=template.elevated,
        container_settings=container,
    )
    return plan, depends


class LazyTasks(Sequence[TaskPlan]):
    """The tasks of a big job, rendered when read; re-iterable and indexable."""

    def __init__(
        self,
        renderer: Renderer,
        tasks: Sequence[CompiledTask],
        base: Mapping[str, Any],
        retries: int,
        depends: Mapping[int, tuple[str, ...]],
        ids: Sequence[str],
    ) -> None:
        self._renderer = renderer
        self._ids = ids
        """Every task's id, from planning: the id is not rendered again."""
        self._tasks = tuple(tasks)
        self._base = base
        self._retries = retries
        self._depends = depends
        self._starts: list[int] = []
        total = 0
        for task in self._tasks:
            self._starts.append(total)
            total += len(task.items)
        self._len = total

    def __len__(self) -> int:
        return self._len

    def _make(self, position: int, task: CompiledTask, index: int) -> TaskPlan:
        context = task_context(self._base, task, index)
        rendered = render_task(
            self._renderer, task, context, "", self._retries, known_id=self._ids[position]
        )
        if rendered is None:  # rendering is deterministic and was checked when planning
            raise RuntimeError(f"task {position} no longer renders")
        plan = rendered[0]
        deps = self._depends.get(position)
        return replace(plan, depends_on=deps) if deps else plan

    @overload
    def __getitem__(self, index: int) -> TaskPlan: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[TaskPlan]: ...
    def __getitem__(self, index: int | slice) -> TaskPlan | Sequence[TaskPlan]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(self._len))]
        if index < 0:
            index += self._len
        if not 0 <= index < self._len:
            raise IndexError(index)
        for which in range(len(self._tasks) - 1, -1, -1):
            if index >= self._starts[which]:
                task = self._tasks[which]
                return self._make(index, task, index - self._starts[which])
        raise IndexError(index)

    def __iter__(self) -> Iterator[TaskPlan]:
        position = 0
        for task in self._tasks:
            for index in range(len(task.items)):
                yield self._make(position, task, index)
                position += 1
