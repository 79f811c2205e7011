"""Spec -> Plan: variables, containers, uploads, pool, job and tasks, fully rendered and checked.

`build_plan` takes a spec the JSON Schema has accepted and finds everything the schema cannot:
references to unknown containers, upload globs matching nothing, ids that are invalid once
rendered, template errors, dependency mistakes. All problems come back at once as located
diagnostics; a Plan comes back only when there are none.
"""

from __future__ import annotations

import dataclasses
import datetime
import difflib
import hashlib
import json
import os
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path, PurePosixPath
from typing import Any

from batchspec.diagnostics import Diagnostic
from batchspec.plan.azure_pool_checks import plan_identities, plan_mounts, plan_network
from batchspec.plan.containers import (
    check_containers,
    compile_container,
    plan_container_configuration,
    render_container,
)
from batchspec.plan.exits import check_exit_conditions, uses_dependencies
from batchspec.plan.job_tasks import (
    check_job_tasks,
    job_task_files,
    plan_preparation,
    plan_release,
)
from batchspec.plan.listing import Listings, listing_inputs
from batchspec.plan.model import (
    AllTasksComplete,
    AutoscalePlan,
    CleanupActions,
    CleanupPlan,
    ContainerPlan,
    DownloadPlan,
    ImagePlan,
    JobPlan,
    OnTaskFailure,
    Plan,
    PoolPlan,
    RunInfo,
    StartTaskPlan,
    UploadPlan,
)
from batchspec.plan.multi_instance import check_multi_instance
from batchspec.plan.pool_checks import check_pool_kind
from batchspec.plan.schedule import check_schedule, plan_manager, plan_schedule
from batchspec.plan.stored_blobs import Expansion, listing_plans, stored_factories
from batchspec.plan.tasklist import TaskSettings, Uploaded, batch_id_problem, plan_tasks
from batchspec.plan.tasks import (
    check_commands,
    compile_resource_files,
    render_resource_files,
    wrap,
)
from batchspec.plan.uploads import plan_uploads
from batchspec.plan.variables import resolve_vars
from batchspec.plan.windows import image_problem, is_windows, windows_quote
from batchspec.spec.document import JsonPath, LoadedSpec, format_json_path
from batchspec.spec.model import (
    Spec,
    SpecShapeError,
    UploadSpec,
    VarValue,
    spec_from_data,
    uploads_from_data,
)
from batchspec.spec.render import Renderer
from batchspec.spec.typed import render_typed_fields
from batchspec.spec.watchdog import BudgetExceeded, TemplateTimeout

MAX_TASK_SLOTS = 256
"""Batch's most task slots per node."""
MAX_DURATION_DAYS = 10_675_199
"""Batch keeps time limits as .NET TimeSpans, which hold at most 10,675,199 days."""
MAX_DURATION_SECONDS = MAX_DURATION_DAYS * 86_400
_ALL_TASKS_COMPLETE: Mapping[str, AllTasksComplete] = {
    "no_action": "noaction",
    "terminate_job": "terminatejob",
}
_ON_TASK_FAILURE: Mapping[str, OnTaskFailure] = {
    "no_action": "noaction",
    "perform_exit_options_job_action": "performexitoptionsjobaction",
}
CONTAINER_NAME = re.compile(r"^(?=.{3,63}$)[a-z0-9]+(-[a-z0-9]+)*$")


def load_plan(
    path: Path,
    overrides: Mapping[str, str],
    run: RunInfo | None = None,
    listings: Listings | None = None,
) -> Plan | list[Diagnostic]:
    """Read, schema-check and plan one spec file."""
    from batchspec.spec.load import load_spec

    loaded = load_spec(path)
    if isinstance(loaded, list):
        return loaded
    return check_plan(loaded, overrides, run, listings)


def check_plan(
    loaded: LoadedSpec,
    overrides: Mapping[str, str],
    run: RunInfo | None = None,
    listings: Listings | None = None,
) -> Plan | list[Diagnostic]:
    """The schema, then every other check and render of a loaded spec, under one budget.

    `listings`: what `foreach: {blobs: ...}` factories found in storage; without them (an
    offline plan) such a template is checked with a stand-in blob and makes no task yet.
    """
    from batchspec.spec.schema import schema_diagnostics

    return _budgeted(loaded, lambda: schema_diagnostics(loaded), overrides, run, listings)


def build_plan(
    loaded: LoadedSpec,
    overrides: Mapping[str, str],
    run: RunInfo | None = None,
    listings: Listings | None = None,
) -> Plan | list[Diagnostic]:
    """Render and check a schema-valid spec into a Plan, or return every problem found."""
    return _budgeted(loaded, list, overrides, run, listings)


def _budgeted(
    loaded: LoadedSpec,
    schema_check: Callable[[], list[Diagnostic]],
    overrides: Mapping[str, str],
    run: RunInfo | None,
    listings: Listings | None = None,
) -> Plan | list[Diagnostic]:
    # One CPU and memory budget covers the schema, rendering, factory expansion and every
    # check of the file: limits per step alone let many steps just under them add up.
    renderer = Renderer(loaded)
    watchdog = renderer.watchdog
    try:
        with watchdog.armed():
            problems = schema_check()
            if problems:
                return problems  # the semantic checks assume the shape the schema guarantees
            return _build(loaded, renderer, overrides, run, listings)
    except BudgetExceeded:
        message = watchdog.exhausted_message()
    except TemplateTimeout:  # fired as a render ended: the render used its whole limit
        message = f"the template is not allowed to do this (sandbox): {watchdog.render_message()}"
    except MemoryError:
        message = "checking the spec needs more memory than this machine has; checking stopped"
    renderer.summarize()
    renderer.report(watchdog.where, message)
    return sorted(renderer.problems)


def _build(
    loaded: LoadedSpec,
    renderer: Renderer,
    overrides: Mapping[str, str],
    run: RunInfo | None,
    listings: Listings | None,
) -> Plan | list[Diagnostic]:
    declared = loaded.data.get("vars", {})
    values = resolve_vars(renderer, tuple(declared.items()), overrides)
    spec_dir = Path(os.path.abspath(loaded.path)).parent
    # Uploads are not templates (they decide the run id), so they are planned from the data
    # before the typed templates, which may name `run`, are rendered.
    upload_specs = uploads_from_data(loaded.data)
    uploads = plan_uploads(renderer, upload_specs, spec_dir)
    _check_literal_prefixes(renderer, upload_specs)
    # What `blobs:` factories list is an input too (their blobs decide the tasks), so it is
    # asked for before the run id exists, with vars and spec only.
    stored = stored_factories(renderer, loaded, values)
    inputs = input_digests(uploads, spec_dir) + data_file_digests(loaded, spec_dir)
    inputs = tuple(sorted(inputs + listing_inputs([f.request for f in stored], listings)))
    digest = spec_digest(loaded.raw, values, inputs)
    run = run or default_run(digest)
    base = renderer.context(
        vars=dict(values), spec={"name": loaded.data.get("name")}, run=vars_of(run)
    )
    # Numbers, booleans, ids and sizes may be templates: they are rendered and type-checked
    # before the spec becomes typed records.
    typed = render_typed_fields(renderer, loaded, base)
    if typed is None:
        renderer.summarize()
        return sorted(renderer.problems)
    try:
        spec = spec_from_data(typed.loaded.data)
    except SpecShapeError as exc:
        line, col = loaded.locate(exc.where)
        return [Diagnostic(str(loaded.path), line, col, format_json_path(exc.where), exc.message)]
    windows = is_windows(spec.pool.image.node_agent)
    image = spec.pool.image
    mismatch = image_problem(image.publisher, image.node_agent)
    if mismatch is not None:
        renderer.report(("pool", "image", "node_agent"), mismatch)
    if windows:
        # Commands are compiled after this point: `quote` quotes for cmd, not for a POSIX shell.
        renderer.env.filters["quote"] = windows_quote
    containers = _containers(renderer, spec, base)
    base["containers"] = {c.key: c.name for c in containers}
    keys = frozenset(c.key for c in spec.containers)
    _check_container_refs(renderer, spec, keys)
    pool = _pool(renderer, spec, base, windows)
    check_pool_kind(renderer, spec, loaded.data)
    if not spec.pool.existing:  # an existing pool's settings are not the spec's to know
        check_containers(renderer, spec)
    _check_durations(renderer, spec)
    prefixes: list[str] = []
    for download in spec.downloads:
        if "\0" in download.to:
            renderer.report((*download.where, "to"), "the path holds a NUL character")
        compiled = renderer.compile(download.prefix, (*download.where, "prefix"))
        prefixes.append(renderer.render(compiled, base) or "" if compiled is not None else "")
    job_id = _render_id(renderer, spec.job.id, ("job", "id"), base, "job id")
    job_environment = _environment(renderer, spec.job.environment, ("job",), base)
    _check_slots(renderer, spec)
    check_multi_instance(renderer, spec)
    check_exit_conditions(renderer, spec.job)
    check_job_tasks(renderer, spec.job)
    preparation = plan_preparation(renderer, spec.job, base, windows)
    release = plan_release(renderer, spec.job, base, windows)
    check_schedule(renderer, spec, str(loaded.data["job"].get("id", "")))
    tasks = manager = None
    expansion = Expansion()
    if len(containers) == len(spec.containers):
        # Without every container name, templates naming `containers.X` would fail for no
        # fault of their own; otherwise tasks are checked too, so all problems come at once.
        uploaded = dataclasses.replace(
            Uploaded.of(spec, uploads, spec_dir),
            requests={f.where: f.request for f in stored},
            listings=listings,
        )
        settings = TaskSettings(windows, _slots(spec), typed.per_task)
        tasks = plan_tasks(renderer, spec.job, base, uploaded, settings, expansion)
        manager = plan_manager(renderer, spec, base, uploaded, settings)
    renderer.summarize()
    if renderer.errors or tasks is None or pool is None or job_id is None:
        return sorted(renderer.problems)
    if (preparation is None) != (spec.job.preparation is None):
        return sorted(renderer.problems)
    if (release is None) != (spec.job.release is None):
        return sorted(renderer.problems)
    if (manager is None) != (spec.job.manager is None):
        return sorted(renderer.problems)
    job = JobPlan(
        id=job_id,
        timeout_seconds=spec.job.timeout_seconds,
        priority=spec.job.priority,
        max_task_retries=spec.job.retries,
        uses_task_dependencies=uses_dependencies(spec.job),
        environment=job_environment,
        on_all_tasks_complete=_ALL_TASKS_COMPLETE[spec.job.on_all_tasks_complete],
        on_task_failure=_ON_TASK_FAILURE[spec.job.on_task_failure],
        preparation=preparation,
        release=release,
        manager=manager,
    )
    return Plan(
        name=spec.name,
        spec_path=Path(os.path.abspath(loaded.path)),
        spec_digest=digest,
        run=run,
        vars=tuple(values),
        containers=containers,
        uploads=uploads,
        pool=pool,
        job=job,
        tasks=tasks,
        downloads=tuple(
            DownloadPlan(d.container, Path(os.path.abspath(spec_dir / d.to)), prefix, d.overwrite)
            for d, prefix in zip(spec.downloads, prefixes, strict=True)
        ),
        inputs=inputs,
        cleanup=CleanupPlan(
            spec.cleanup.containers,
            spec.cleanup.job,
            spec.cleanup.pool,
            CleanupActions(*spec.cleanup.on_failure),
        ),
        warnings=tuple(sorted(renderer.problems)),
        schedule=plan_schedule(spec),
        listings=listing_plans(stored, tasks, expansion, listings is not None),
    )


def vars_of(run: RunInfo) -> dict[str, str]:
    """`run` as templates see it."""
    return {"id": run.id, "date": run.date}


def default_run(digest: str, today: datetime.date | None = None) -> RunInfo:
    """The run of an unchanged spec keeps its id: the digest's first 8 hex characters."""
    return RunInfo(digest[:8], (today or datetime.date.today()).isoformat())


def spec_digest(
    raw: bytes,
    values: Sequence[tuple[str, VarValue]],
    inputs: Sequence[tuple[str, str]] = (),
) -> str:
    """sha256 of what decides a run: the spec's bytes, the variable values, the uploaded files.

    `inputs` are (source relative to the spec, content sha256) pairs, so editing an uploaded
    script or data file gives a new run, as editing the spec does.
    """
    digest = hashlib.sha256(raw)
    digest.update(b"\0")
    digest.update(json.dumps(dict(values), sort_keys=True).encode())
    if inputs:
        digest.update(b"\0")
        digest.update(json.dumps(sorted(inputs)).encode())
    return digest.hexdigest()


def input_digests(uploads: Sequence[UploadPlan], spec_dir: Path) -> tuple[tuple[str, str], ...]:
    """(source as the spec names it, sha256 of its content) for every uploaded file."""
    out: dict[str, str] = {}
    for upload in uploads:
        try:
            shown = os.path.relpath(upload.source, spec_dir)
        except ValueError:  # another drive, on Windows
            shown = str(upload.source)
        out[Path(shown).as_posix()] = _file_sha256(upload.source)
    return tuple(sorted(out.items()))


def data_file_digests(loaded: LoadedSpec, spec_dir: Path) -> tuple[tuple[str, str], ...]:
    """(path as the spec names it, sha256) for every `foreach: {file: ...}` data file: its rows
    decide which tasks run, so an edited file is a new run as an edited upload is."""
    job = loaded.data.get("job")
    templates = job.get("tasks") if isinstance(job, dict) else None
    out: dict[str, str] = {}
    for template in templates if isinstance(templates, list) else ():
        foreach = template.get("foreach") if isinstance(template, dict) else None
        name = foreach.get("file") if isinstance(foreach, dict) else None
        if isinstance(name, str) and name:
            out[PurePosixPath(name).as_posix()] = _file_sha256(spec_dir / name)
    return tuple(out.items())


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    try:
        with path.open("rb") as stream:
            while chunk := stream.read(1 << 20):
                digest.update(chunk)
    except OSError as exc:  # plan_uploads has reported it; the run is new either way
        return f"unreadable: {exc.strerror or exc}"
    return digest.hexdigest()


def _check_literal_prefixes(renderer: Renderer, uploads: Sequence[UploadSpec]) -> None:
    """An upload prefix is not a template (uploads decide the run id): say so, not upload it."""
    for upload in uploads:
        if "{{" in upload.prefix or "{%" in upload.prefix:
            renderer.report(
                (*upload.where, "prefix"),
                "an upload prefix is not a template (the uploaded files decide the run id, "
                "so they cannot depend on it); write the prefix literally",
            )


def _render_id(
    renderer: Renderer, source: str, where: JsonPath, context: Mapping[str, Any], what: str
) -> str | None:
    compiled = renderer.compile(source, where)
    value = None if compiled is None else renderer.render(compiled, context)
    if value is None:
        return None
    problem = batch_id_problem(value, what)
    if problem is not None:
        renderer.report(where, problem)
        return None
    return value


def _environment(
    renderer: Renderer,
    pairs: Sequence[tuple[str, str]],
    owner: JsonPath,
    context: Mapping[str, Any],
) -> tuple[tuple[str, str], ...]:
    """Environment values rendered once (the job's, a start task's); failures are reported."""
    out = []
    for name, value in pairs:
        compiled = renderer.compile(value, (*owner, "environment", name))
        rendered = None if compiled is None else renderer.render(compiled, context)
        out.append((name, rendered or ""))
    return tuple(out)


def _slots(spec: Spec) -> int:
    """The pool's task slots per node; Batch's most for an existing pool, which may have them."""
    return MAX_TASK_SLOTS if spec.pool.existing else spec.pool.task_slots_per_node


def _check_slots(renderer: Renderer, spec: Spec) -> None:
    # Batch accepts such a task and never schedules it: the job would wait forever.
    slots = _slots(spec)
    for task in spec.job.tasks:
        if task.required_slots > slots:
            renderer.report(
                (*task.where, "required_slots"),
                f"the task needs {task.required_slots} slots but the pool's nodes have "
                f"{slots} (pool.task_slots_per_node); Batch would never schedule it",
            )


def _check_durations(renderer: Renderer, spec: Spec) -> None:
    # The schema accepts `0s`; a limit of zero would end the job or task before it starts.
    limits: list[tuple[int | None, JsonPath]] = [(spec.job.timeout_seconds, ("job", "timeout"))]
    templates = (*spec.job.tasks, *(() if spec.job.manager is None else (spec.job.manager.task,)))
    limits += [(t.max_wall_clock_seconds, (*t.where, "max_wall_clock")) for t in templates]
    for node_task in (spec.job.preparation, spec.job.release):
        if node_task is not None:
            limits.append((node_task.max_wall_clock_seconds, (*node_task.where, "max_wall_clock")))
            # A retention of zero is valid: Batch may remove the directory at once.
            retention = node_task.retention_seconds or None
            limits.append((retention, (*node_task.where, "retention")))
    for seconds, where in limits:
        if seconds == 0:
            renderer.report(where, "a time limit of zero would stop it at once; use at least 1s")
        elif seconds is not None and seconds > MAX_DURATION_SECONDS:
            renderer.report(
                where,
                f"the time limit is longer than Batch can hold (at most {MAX_DURATION_DAYS}d, "
                "about 29,000 years); leave it out for no limit",
            )


def _containers(
    renderer: Renderer, spec: Spec, context: Mapping[str, Any]
) -> tuple[ContainerPlan, ...]:
    out = []
    owners: dict[str, str] = {}
    for container in spec.containers:
        compiled = renderer.compile(container.name, container.where)
        name = None if compiled is None else renderer.render(compiled, context)
        if name is None:
            continue
        if not CONTAINER_NAME.match(name):
            renderer.report(
                container.where,
                f"the container name {name!r} is not a valid blob container name: use 3-63 "
                "lowercase letters, digits and hyphens, starting and ending with a letter or "
                "digit, without two hyphens in a row",
            )
        elif name in owners:
            renderer.report(
                container.where,
                f"containers {owners[name]!r} and {container.key!r} both name {name!r}",
            )
        owners.setdefault(name, container.key)
        out.append(ContainerPlan(container.key, name))
    return tuple(out)


def _check_container_refs(renderer: Renderer, spec: Spec, keys: frozenset[str]) -> None:
    refs: list[tuple[str, JsonPath]] = [(u.container, u.where) for u in spec.uploads]
    refs += [(d.container, d.where) for d in spec.downloads]
    start = spec.pool.start_task
    files = list(start.resource_files) if start is not None else []
    files += spec.job.resource_files
    files += job_task_files(spec.job)
    manager = () if spec.job.manager is None else (spec.job.manager.task,)
    for task in (*spec.job.tasks, *manager):
        files += task.resource_files
        if task.multi_instance is not None:
            files += task.multi_instance.common_resource_files
        refs += [(o.container, o.where) for o in task.outputs]
        if task.foreach is not None and hasattr(task.foreach, "container"):
            refs.append((task.foreach.container, task.foreach.where))
    refs += [(rf.container, rf.where) for rf in files if rf.container is not None]
    for key, where in refs:
        if key not in keys:
            hint = difflib.get_close_matches(key, keys, n=1)
            suggestion = f"; did you mean {hint[0]!r}?" if hint else ""
            renderer.report(
                (*where, "container"),
                f"unknown container {key!r} (containers: {', '.join(sorted(keys))})" + suggestion,
            )


def _pool(
    renderer: Renderer, spec: Spec, context: Mapping[str, Any], windows: bool
) -> PoolPlan | None:
    pool = spec.pool
    start = pool.start_task
    start_plan = None
    if start is not None:
        run = start.run
        check_commands(renderer, run, windows)
        if run.commands is not None:
            lines = [
                renderer.render(c, context) if c is not None else None
                for c in (renderer.compile(s, (*run.where, i)) for i, s in enumerate(run.commands))
            ]
            command = None if None in lines else wrap([x or "" for x in lines], windows)
        else:
            compiled = renderer.compile(run.command or "", run.where)
            command = None if compiled is None else renderer.render(compiled, context)
        env = _environment(renderer, start.environment, start.where, context)
        compiled_files = compile_resource_files(renderer, start.resource_files)
        files = (
            None
            if compiled_files is None
            else render_resource_files(renderer, compiled_files, context)
        )
        container = compile_container(renderer, start.container_settings)
        settings = None if container is None else render_container(renderer, container, context)
        if command is None or files is None:
            return None
        if start.container_settings is not None and settings is None:
            return None
        start_plan = StartTaskPlan(
            command_line=command,
            resource_files=files,
            environment=env,
            elevated=start.elevated,
            wait_for_success=start.wait_for_success,
            max_retries=start.retries,
            container_settings=settings,
        )
    image = pool.image
    return PoolPlan(
        id=pool.id,
        vm_size=pool.vm_size,
        dedicated_nodes=pool.dedicated,
        spot_nodes=pool.spot,
        image=ImagePlan(image.publisher, image.offer, image.sku, image.version, image.node_agent),
        task_slots_per_node=pool.task_slots_per_node,
        start_task=start_plan,
        os_family="windows" if windows else "linux",
        container_configuration=plan_container_configuration(
            renderer, pool.container_configuration, context
        ),
        lifetime=pool.lifetime,
        existing=pool.existing,
        autoscale=None
        if pool.autoscale is None
        else AutoscalePlan(pool.autoscale.formula, pool.autoscale.interval_seconds),
        inter_node_communication=pool.inter_node_communication,
        mounts=plan_mounts(renderer, pool, frozenset(c.key for c in spec.containers), windows),
        network=plan_network(renderer, pool),
        identities=plan_identities(pool),
    )
