"""Task templates -> TaskPlans: compile once, render per item, and a lazy sequence for big jobs.

Rendering is deterministic (the sandbox offers no randomness and `run` is fixed), so the tasks
of a very large job are rendered once to check them and again, on demand, when the plan is
read: only the ids and dependencies are kept in between, and they are not rendered again.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import TYPE_CHECKING, Any, TypeVar, overload

from jsonschema import Draft202012Validator

from batchspec.plan.commandline import command_problem, quoting_problems, wrap_commands
from batchspec.plan.containers import CompiledContainer, compile_container, render_container
from batchspec.plan.exits import exit_conditions_plan
from batchspec.plan.model import ExitConditionsPlan, OutputPlan, ResourceFilePlan, TaskPlan
from batchspec.plan.windows import cmd_problem, wrap_cmd
from batchspec.spec.document import JsonPath
from batchspec.spec.durations import parse_duration
from batchspec.spec.model import CommandSpec, ResourceFileSpec, TaskTemplate
from batchspec.spec.render import Compiled, Renderer
from batchspec.spec.schema import field_validator, value_problems
from batchspec.spec.typed import PerTaskField, convert

if TYPE_CHECKING:
    from batchspec.plan.multi_instance import CompiledMultiInstance

MAX_DISPLAY_NAME = 1024
"""Batch's limit on a task's display name (Unicode characters)."""

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
class CompiledTypedField:
    field: PerTaskField
    template: Compiled
    validator: Draft202012Validator


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
    display_name: Compiled | None = None
    shared_files: tuple[ResourceFilePlan, ...] = ()
    """The job's resource files, rendered once, given to every task before its own."""
    exit_conditions: ExitConditionsPlan | None = None
    """The same for every task of the template (its fields are rendered once)."""
    windows: bool = False
    """The pool runs Windows: `commands:` are joined for cmd."""
    typed: tuple[CompiledTypedField, ...] = ()
    """Typed fields whose templates name `item` or `index`, rendered per task."""
    slots_per_node: int = 1
    container: CompiledContainer | None = None
    multi_instance: CompiledMultiInstance | None = None


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


def check_commands(renderer: Renderer, run: CommandSpec, windows: bool = False) -> None:
    """Report shell syntax that would break the command line Batch runs (see command_problem;
    cmd_problem for a Windows pool) and placeholders that are not quoted safely (see
    quoting_problems; POSIX shells only)."""
    check = cmd_problem if windows else command_problem
    sources: list[tuple[str, JsonPath, bool, bool]]
    if run.commands is None:
        sources = [(run.command or "", run.where, False, True)]
    else:
        last = len(run.commands) - 1
        sources = [(c, (*run.where, i), True, i == last) for i, c in enumerate(run.commands)]
    for source, where, joined, is_last in sources:
        problem = check(source, joined=joined, last=is_last)
        if problem is not None:
            renderer.report(where, problem)
        if not windows:
            for severity, message in quoting_problems(source):
                renderer.report(where, message, severity)


def wrap(lines: Sequence[str], windows: bool) -> str:
    """A `commands:` list as one command line: bash on Linux, cmd on Windows."""
    return wrap_cmd(lines) if windows else wrap_commands(lines)


def compile_task(
    renderer: Renderer,
    template: TaskTemplate,
    items: Sequence[Any],
    shared_files: tuple[ResourceFilePlan, ...] = (),
    windows: bool = False,
    typed: tuple[PerTaskField, ...] = (),
    slots_per_node: int = 1,
) -> CompiledTask | None:
    """Compile every template field of a task template once; None on a syntax error."""
    where = template.where
    run = template.run
    check_commands(renderer, run, windows)
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
    display = None
    if template.display_name is not None:
        display = renderer.compile(template.display_name, (*where, "display_name"))
        if display is None:
            return None
    typed_fields = []
    for per_task in typed:
        source = renderer.compile(per_task.source, per_task.where)
        if source is None:
            return None
        typed_fields.append(CompiledTypedField(per_task, source, field_validator(per_task.schema)))
    container = compile_container(renderer, template.container_settings)
    parts: list[Compiled | None] = [task_id, *compiled, *(c for _, c in env), *deps]
    parts += [c for pair in outputs for c in pair]
    if files is None or task_id is None or any(p is None for p in parts):
        return None
    if template.container_settings is not None and container is None:
        return None
    # plan.multi_instance builds on this module's helpers, so it is imported here.
    from batchspec.plan.multi_instance import compile_multi_instance

    multi = compile_multi_instance(renderer, template.multi_instance, windows)
    if template.multi_instance is not None and multi is None:
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
        display_name=display,
        shared_files=shared_files,
        exit_conditions=exit_conditions_plan(template.exit_conditions),
        windows=windows,
        typed=tuple(typed_fields),
        slots_per_node=slots_per_node,
        container=container,
        multi_instance=multi,
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


def output_pattern_problem(pattern: str) -> str | None:
    """Why an output pattern would reach outside the task directory, or None.

    Patterns are relative to the task's working directory (`wd`), so `../stdout.txt` names a
    file of the task directory itself, as on Batch; anything further up is refused, and so is
    an absolute pattern.
    """
    text = pattern.replace("\\", "/")
    if text.startswith("/") or (len(text) > 1 and text[1] == ":"):
        return (
            f"the output pattern {pattern!r} is absolute; a pattern is relative to the task's "
            "working directory and matches files inside the task directory only"
        )
    if posixpath.normpath(posixpath.join("wd", text)).split("/")[0] == "..":
        return (
            f"the output pattern {pattern!r} leads out of the task directory ('..'); only "
            "files under the task directory are uploaded"
        )
    return None


def output_path_problem(path: str) -> str | None:
    """Why an output's destination path in its container is refused, or None."""
    parts = path.replace("\\", "/").split("/")
    if path.startswith(("/", "\\")):
        return f"the output path {path!r} is absolute; it is a blob path inside the container"
    if ".." in parts:
        return f"the output path {path!r} climbs with '..'; it is a blob path inside the container"
    return None


def _check_outputs(
    renderer: Renderer, task: CompiledTask, outputs: Sequence[OutputPlan], what: str
) -> bool:
    ok = True
    for output, spec in zip(outputs, task.template.outputs, strict=True):
        problems = [("pattern", output_pattern_problem(output.pattern))]
        if output.path is not None:
            problems.append(("path", output_path_problem(output.path)))
        for field, problem in problems:
            if problem is not None:
                renderer.fail((*spec.where, field), what + problem)
                ok = False
    return ok


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
    display = None if task.display_name is None else render(task.display_name)
    if display is not None and len(display) > MAX_DISPLAY_NAME:
        renderer.fail(
            (*task.template.where, "display_name"),
            f"{what}the display name is {len(display):,} characters; Batch allows at most "
            f"{MAX_DISPLAY_NAME}",
        )
        failed = True
    container = None
    if task.container is not None:
        container = render_container(renderer, task.container, context, what)
        failed = failed or container is None
    multi = None
    if task.multi_instance is not None:
        from batchspec.plan.multi_instance import render_multi_instance

        multi = render_multi_instance(renderer, task.multi_instance, context, what, task.windows)
        failed = failed or multi is None
    typed = _render_typed(renderer, task, context, what)
    if failed or files is None or typed is None:
        return None
    if not _check_outputs(renderer, task, outputs, what):
        return None
    template = task.template
    retries = typed.get("retries", retries if template.retries is None else template.retries)
    wall = typed.get("max_wall_clock", template.max_wall_clock_seconds)
    plan = TaskPlan(
        id=task_id,
        command_line=wrap(lines, task.windows) if task.wrapped else lines[0],
        resource_files=shared(task.shared_files + files),
        environment=environment,
        outputs=outputs,
        max_retries=retries,
        max_wall_clock_seconds=wall,
        elevated=bool(typed.get("elevated", template.elevated)),
        display_name=display,
        required_slots=typed.get("required_slots", template.required_slots),
        depends_on_ranges=tuple((r.start, r.end) for r in template.depends_on_ranges),
        exit_conditions=task.exit_conditions,
        container_settings=container,
        multi_instance=multi,
    )
    return plan, depends


def _render_typed(
    renderer: Renderer, task: CompiledTask, context: Mapping[str, Any], what: str
) -> dict[str, int] | None:
    """The task's per-task typed fields, converted and checked; None when one is wrong."""
    values: dict[str, int] = {}
    ok = True
    for typed in task.typed:
        per_task = typed.field
        text = renderer.render(typed.template, context, what)
        if text is None:
            ok = False
            continue
        value = convert(text, per_task.schema)
        problems = value_problems(typed.validator, value)
        if not problems and per_task.key == "max_wall_clock":
            value = parse_duration(value)
            if value == 0:
                problems = ["a time limit of zero would stop it at once; use at least 1s"]
        if not problems and per_task.key == "required_slots" and value > task.slots_per_node:
            problems = [
                f"the task needs {value} slots but the pool's nodes have {task.slots_per_node} "
                "(pool.task_slots_per_node); Batch would never schedule it"
            ]
        if problems:
            renderer.fail(
                per_task.where, f"{what}{per_task.source!r} renders to {text!r}: {problems[0]}"
            )
            ok = False
            continue
        values[per_task.key] = int(value)
    return values if ok else None


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

    def with_depends(self, depends: Mapping[int, tuple[str, ...]]) -> LazyTasks:
        """The same tasks with other resolved dependencies (position -> task ids)."""
        return LazyTasks(self._renderer, self._tasks, self._base, self._retries, depends, self._ids)

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
