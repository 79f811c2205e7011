"""Every state change of a pool, node, job and task, in one place.

The API (a terminate, a delete), the scheduler (an assignment, a requeue, a passing state that
ran its time) and the engine (a task that ended) all move resources through these functions,
so that each transition records what Batch records with it (previousState, transition times,
ETags) and the changes that belong together are committed together. Passing states (a job
terminating or deleting, a pool resizing or deleting, a node creating or rebooting) carry the
time they end in their private `_due` key; the scheduler ends them (engine/timers.py).
"""

from batchspec.emulator.service.lifecycle.jobs import (
    disable_job,
    enable_job,
    finish_job_deletion,
    finish_termination,
    mark_job_deleting,
    note_job_deadline,
    terminate_job,
)
from batchspec.emulator.service.lifecycle.nodes import (
    finish_boot,
    forget_preparations,
    reboot_all,
    set_node_load,
    set_node_state,
    start_node_phase,
    start_task_done,
)
from batchspec.emulator.service.lifecycle.pools import (
    finish_resize,
    mark_pool_deleting,
    start_resize,
    stop_resize,
)
from batchspec.emulator.service.lifecycle.tasks import (
    assign,
    delete_task,
    failure,
    finish_task,
    note_retry,
    reactivate_task,
    recount_blocked,
    release_dependants,
    requeue_in_flight,
    requeue_on,
    requeue_task,
    start_attempt,
    terminate_task,
    transition,
)

__all__ = [
    "assign",
    "delete_task",
    "disable_job",
    "enable_job",
    "failure",
    "finish_boot",
    "finish_job_deletion",
    "finish_resize",
    "finish_task",
    "finish_termination",
    "forget_preparations",
    "mark_job_deleting",
    "mark_pool_deleting",
    "note_job_deadline",
    "note_retry",
    "reactivate_task",
    "reboot_all",
    "recount_blocked",
    "release_dependants",
    "requeue_in_flight",
    "requeue_on",
    "requeue_task",
    "set_node_load",
    "set_node_state",
    "start_attempt",
    "start_node_phase",
    "start_resize",
    "start_task_done",
    "stop_resize",
    "terminate_job",
    "terminate_task",
    "transition",
]
