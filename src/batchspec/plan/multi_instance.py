"""Multi-instance (MPI) tasks in the plan: the coordination command and common resource files
compiled and rendered per task, and the rules Batch applies to where such a task can run.

Batch (learn.microsoft.com/azure/batch/batch-mpi): "Multi-instance tasks require a pool with
inter-node communication enabled, and with concurrent task execution disabled [...] the task
is never scheduled--it remains indefinitely in the active state"; `requiredSlots`: "For
multi-instance Tasks, this must be 1" (azure-batch 15.1.0). A task that needs more nodes than
the pool has waits for ever as well. `validate` reports each of these where it is written.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from batchspec.plan.model import MultiInstancePlan
from batchspec.plan.tasks import (
    CompiledResourceFile,
    check_commands,
    compile_resource_files,
    render_resource_files,
    wrap,
)
from batchspec.spec.model import MultiInstanceSpec, Spec
from batchspec.spec.render import Compiled, Renderer

# Batch's pool size limit for inter-node communication (Batch service allocation mode).
MAX_INTER_NODE_POOL = 100


@dataclass(frozen=True, slots=True)
class CompiledMultiInstance:
    spec: MultiInstanceSpec
    coordination: tuple[Compiled, ...]
    wrapped: bool
    common_resource_files: tuple[CompiledResourceFile, ...]


def compile_multi_instance(
    renderer: Renderer, spec: MultiInstanceSpec | None, windows: bool
) -> CompiledMultiInstance | None:
    """The coordination command and common resource files compiled; None on a syntax error."""
    if spec is None:
        return None
    run = spec.coordination
    check_commands(renderer, run, windows)
    if run.commands is not None:
        sources = [renderer.compile(c, (*run.where, i)) for i, c in enumerate(run.commands)]
    else:
        sources = [renderer.compile(run.command or "", run.where)]
    files = compile_resource_files(renderer, spec.common_resource_files)
    if files is None or any(c is None for c in sources):
        return None
    return CompiledMultiInstance(
        spec, tuple(c for c in sources if c is not None), run.commands is not None, files
    )


def render_multi_instance(
    renderer: Renderer,
    compiled: CompiledMultiInstance,
    context: Mapping[str, Any],
    what: str,
    windows: bool,
) -> MultiInstancePlan | None:
    """The task's MultiInstanceSettings, rendered with its context; None when a part fails."""
    lines = [renderer.render(c, context, what) for c in compiled.coordination]
    files = render_resource_files(renderer, compiled.common_resource_files, context, what)
    if files is None or any(line is None for line in lines):
        return None
    texts = [line or "" for line in lines]
    command = wrap(texts, windows) if compiled.wrapped else texts[0]
    return MultiInstancePlan(compiled.spec.instances, command, files)


def check_multi_instance(renderer: Renderer, spec: Spec) -> None:
    """Report multi-instance tasks that Batch would refuse or never schedule on this pool."""
    pool = spec.pool
    nodes = pool.dedicated + pool.spot
    if pool.inter_node_communication and nodes > MAX_INTER_NODE_POOL:
        renderer.report(
            ("pool", "nodes"),
            f"a pool with inter-node communication has at most {MAX_INTER_NODE_POOL} nodes on "
            f"Batch; this one asks for {nodes}",
        )
    for task in spec.job.tasks:
        multi = task.multi_instance
        if multi is None:
            continue
        if task.required_slots != 1:
            renderer.report(
                (*task.where, "required_slots"),
                "a multi-instance task takes whole nodes: Batch requires required_slots 1",
            )
        if pool.existing:
            continue  # its settings are not the spec's to know: Batch decides
        if not pool.inter_node_communication:
            renderer.report(
                multi.where,
                "a multi-instance task needs a pool with inter-node communication: set "
                "pool.inter_node_communication: true (Batch would never schedule it)",
            )
        if pool.task_slots_per_node != 1:
            renderer.report(
                multi.where,
                f"a multi-instance task needs one task per node, but "
                f"pool.task_slots_per_node is {pool.task_slots_per_node} (Batch would never "
                "schedule it)",
            )
        # Counts the spec fixes; a pool sized otherwise (autoscale) is checked by Batch.
        if 0 < nodes < multi.instances:
            renderer.report(
                (*multi.where, "instances"),
                f"the task needs {multi.instances} nodes but the pool has {nodes} "
                "(pool.nodes); Batch would never schedule it",
            )
