"""The apply workflow: storage, pool, job, tasks, monitoring, downloads and clean-up.

What the pool's StartTask fetches is uploaded first, then the pool is created, and the other
uploads, the job and the tasks go while its nodes allocate and boot (see `overlap`); nodes are
watched for a StartTask failure while the tasks are queued, and outputs are fetched as tasks end.

Each step is idempotent and journaled, so a run stopped anywhere (an error, Ctrl-C, `kill -9`)
continues on the next apply with the same run id: blobs with the same content are not sent
again, the pool is found and reused, the job is found and continued, and tasks that were
already added answer TaskExists. The journal records, before each create, what is about to be
created and, after it, whether it was created or found (see `ownership`); clean-up deletes only
what a run of this spec created. Ctrl-C and SIGTERM stop transfers at once, apply the spec's
on-failure clean-up (after a confirmation on a terminal, if it deletes anything) and end with
exit code 130.
"""

from __future__ import annotations

import dataclasses
import datetime
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from azure.batch import BatchClient
from azure.core.exceptions import AzureError
from azure.storage.blob import BlobServiceClient

from batchspec.apply import job as jobs
from batchspec.apply import outcome, overlap, service_faults
from batchspec.apply import schedule as schedules
from batchspec.apply.batch_models import BatchModels
from batchspec.apply.cleanup import clean_up
from batchspec.apply.console import Reporter
from batchspec.apply.journal import Journal, Ownership, RunState, now_iso
from batchspec.apply.ownership import Mark, judge, origin, read_batch_mark, read_mark
from batchspec.apply.pool import (
    StartTaskFailed,
    auto_pool_id,
    ensure_pool,
    use_existing_pool,
    wait_for_nodes,
)
from batchspec.apply.sas import SAS_MARGIN, SAS_WITHOUT_TIMEOUT, sas_expiry
from batchspec.apply.storage import (
    Cancelled,
    UploadSummary,
    container_metadata,
    create_container,
)
from batchspec.apply.submit import submit_tasks
from batchspec.errors import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, BatchspecError
from batchspec.plan.model import Plan
from batchspec.redact import describe_error, redact
from batchspec.targets import Target

# Re-exported: callers set up a Workflow and its SAS expiry from this one module.
__all__ = [
    "SAS_MARGIN",
    "SAS_WITHOUT_TIMEOUT",
    "ApplyOptions",
    "Workflow",
    "new_run_state",
    "sas_expiry",
]

NODE_WAIT_SECONDS = 20 * 60.0
MONITOR_MARGIN_SECONDS = 5 * 60.0

Confirm = Callable[[str], bool]


@dataclass(frozen=True)
class ApplyOptions:
    recreate_pool: bool = False
    confirm: Confirm = lambda _question: True
    """Asks the user a yes/no question; without a terminal (or with --yes) it answers yes."""
    poll_seconds: float = 2.0


def new_run_state(plan: Plan, target: Target, previous: RunState | None = None) -> RunState:
    """The journal record for a run that is about to start.

    What earlier runs downloaded stays known, so this run may replace those files.
    """
    return RunState(
        spec_path=str(plan.spec_path),
        spec_digest=plan.spec_digest,
        target=target.name,
        run_id=plan.run.id,
        run_date=plan.run.date,
        pool_id=plan.pool.id,
        job_id=plan.job.id,
        inputs=plan.inputs,
        downloaded=previous.downloaded if previous is not None else (),
        started_at=now_iso(),
    )


class Workflow:
    """One run of one Plan on one target, recorded in a journal."""

    def __init__(
        self,
        plan: Plan,
        target: Target,
        journal: Journal,
        state: RunState,
        reporter: Reporter,
        options: ApplyOptions,
    ) -> None:
        if plan.unlisted:
            # Its `blobs:` templates have no tasks yet: apply.listing.listed_plan makes them.
            raise ValueError("a plan made without its listings cannot be applied")
        self.plan, self.target, self.journal = plan, target, journal
        self.state, self.out, self.options = state, reporter, options
        self.mark = Mark(journal.owner, plan.run.id, journal.origin)
        self.cancel = threading.Event()
        """Set on Ctrl-C: uploads and downloads under way stop at their next block."""
        self.batch: BatchClient = target.batch_client()
        self.blobs: BlobServiceClient = target.blob_service()

    def run(self) -> int:
        """Run every step; return the exit code (0, 1 or 130)."""
        try:
            try:
                if self.state.outcome is not None:
                    code = self.state.outcome
                    self.out.step(
                        f"run {self.plan.run.id}: its work is done (exit code {code}); "
                        "finishing its clean-up"
                    )
                else:
                    self._save()  # the run is in the journal before anything is created
                    code = self._steps()
            except KeyboardInterrupt:
                self.cancel.set()
                return self._interrupted()
            except Exception as exc:
                self.cancel.set()
                self._failed(exc)
                return EXIT_FAILED
            self._save(outcome=code)
            self._cleanup(succeeded=code == EXIT_OK, finished=True)
            self._save(step="cleanup", finished=True, exit_code=code)
            return code
        except KeyboardInterrupt:
            self.cancel.set()
            self.out.error(
                "interrupted during clean-up: stopped without finishing it; "
                "run apply again to finish it"
            )
            return EXIT_INTERRUPTED
        finally:
            self.batch.close()
            self.blobs.close()

    def _failed(self, exc: Exception) -> None:
        """Say why the run stopped, apply the on-failure clean-up, say what is left."""
        if isinstance(exc, BatchspecError):
            self.out.error(str(exc))
            if isinstance(exc, StartTaskFailed):
                self.out.step("  StartTask stderr (last lines):")
                self.out.block(exc.stderr_tail)
        elif isinstance(exc, AzureError | OSError | Cancelled):
            self.out.error(describe_error(exc))
        else:
            # Not expected: still one line for the user, and the redacted traceback on disk.
            where = self._write_traceback()
            self.out.error(
                f"internal error: this is a bug in batchspec ({describe_error(exc)}); "
                f"the traceback is in {where}"
            )
        self._cleanup(succeeded=False, finished=False)
        self._left_in_place()

    def _steps(self) -> int:
        plan, out = self.plan, self.out
        out.step(f"run {plan.run.id} of {plan.name} on {self.target.describe()}")
        out.record.run_id = plan.run.id
        self._containers()
        self._save(step="containers")
        overlap.check_sources(plan)  # a file gone fails the run before the pool exists
        first = overlap.start_task_uploads(plan)
        first_sent = self._upload(overlap.with_uploads(plan, first), "uploads for the StartTask")

        models = BatchModels(plan, self.target.sas(self._sas_expiry()))
        self._pool(models)
        # While the nodes allocate and boot: the other uploads, the job and its tasks.
        rest = overlap.with_uploads(plan, overlap.other_uploads(plan, first))
        self._upload(rest, "uploads", first_sent)
        self._save(step="uploads")
        if plan.schedule is not None:
            return self._schedule(models)
        self._job(models)
        total = len(plan.tasks)
        if not self.state.done("tasks"):
            summary = submit_tasks(
                self.batch,
                plan.job.id,
                plan.tasks,
                models,
                start=self.state.tasks_submitted,
                on_wave=lambda n: self._save(tasks_submitted=n),
                warn=out.warn,
            )
            again = f", {summary.existing} were already there" if summary.existing else ""
            out.step(f"tasks: {summary.added} added{again} ({total} planned)")
            self._save(step="tasks")
        # Only now: a job told earlier could end between two task collections.
        completion = models.job_completion()
        if completion is not None and jobs.set_completion(self.batch, plan.job.id, completion):
            out.step(f"job {plan.job.id}: terminates when all its tasks complete")
        # The tasks wait in the job meanwhile; a StartTask failure still ends the run early.
        # An existing pool is not the spec's to judge; a formula decides how many nodes come.
        if not plan.pool.existing:
            pool_id = plan.pool.id
            if plan.pool.lifetime == "job":
                pool_id = auto_pool_id(self.batch, plan.job.id)
                out.step(f"pool {pool_id}: the job's auto pool")
            wanted = 0 if plan.pool.autoscale else plan.pool.dedicated_nodes + plan.pool.spot_nodes
            wait_for_nodes(
                self.batch,
                pool_id,
                wanted,
                timeout=NODE_WAIT_SECONDS,
                say=out.step,
                warn=out.warn,
                poll=min(self.options.poll_seconds, 1.0),
                outage=service_faults.OUTAGE_SECONDS,
            )

        early = overlap.EarlyDownloads(
            self.blobs,
            plan,
            dict(self.state.downloaded),
            on_pass=lambda known: self._save(downloaded=tuple(sorted(known.items()))),
            cancel=self.cancel,
        )
        counts, blocked = outcome.watch(
            self.batch,
            plan,
            self.out,
            poll=self.options.poll_seconds,
            margin=MONITOR_MARGIN_SECONDS,
            on_poll=early,
        )
        self._save(step="monitor")
        outcome.report_tasks(self.batch, plan, self.out, counts, blocked)
        got = outcome.fetch(
            self.blobs,
            plan,
            self.out,
            tuple(sorted(early.known.items())),
            self.cancel,
            fetched=frozenset(early.written),
        )
        known = early.known | {str(p): d for p, d in got.digests.items()}
        self._save(step="downloads", downloaded=tuple(sorted(known.items())))
        # Outputs that did not arrive make the run a failure even if every task succeeded.
        return EXIT_FAILED if counts.failed or blocked or got.refused else EXIT_OK

    def _upload(self, plan: Plan, label: str, before: UploadSummary | None = None) -> UploadSummary:
        """Send `plan`'s uploads (skipping unchanged blobs); say what was sent, with `before`."""
        if not plan.uploads and before is None:
            return UploadSummary(0, 0, 0)
        return outcome.send(self.blobs, plan, self.out, self.cancel, label, before)

    def _containers(self) -> None:
        """Create the containers, recording each as about to be created, then created or found."""
        created = found = 0
        for container in self.plan.containers:
            name = container.name
            before = self.state.owned("container", name)
            if before is None:
                self._own("container", name, "creating")
            if create_container(self.blobs, name, self.mark.metadata()):
                self._own("container", name, "created")
                self.out.step(f"container {name}: created")
                created += 1
                continue
            mark = read_mark(container_metadata(self.blobs, name))
            status = judge(before, mark, self.mark)
            self._own("container", name, status)
            if status == "found":
                self.out.step(f"container {name}: found ({origin(mark, self.mark)})")
                found += 1
        self.out.step(f"containers: {created} created, {found} found")

    def _pool(self, models: BatchModels) -> None:
        pool_id = self.plan.pool.id
        if self.plan.pool.lifetime == "job":
            # The job owns its auto pool: Batch creates it with the job, deletes it with it.
            self.out.step(f"pool: an auto pool ({pool_id}_...), created by Batch with the job")
            self._save(step="pool")
            return
        if self.plan.pool.existing:
            use_existing_pool(self.batch, pool_id, self.out.step)
            self._own("pool", pool_id, "found")
            self._save(step="pool")
            return
        wanted = models.pool()
        wanted.metadata = self.mark.batch_metadata()
        before = self.state.owned("pool", pool_id)
        if before is None:
            self._own("pool", pool_id, "creating")
        created = ensure_pool(
            self.batch,
            wanted,
            recreate=self.options.recreate_pool,
            say=self.out.step,
            confirm=self.options.confirm,
        )
        if created:
            self._own("pool", pool_id, "created")
        else:
            pool = self.batch.get_pool(pool_id, select=["id", "metadata"])
            mark = read_batch_mark(pool.metadata)
            status = judge(before, mark, self.mark)
            self._own("pool", pool_id, status)
            if status == "found":
                self.out.step(f"pool {pool_id}: found ({origin(mark, self.mark)})")
        self._save(step="pool")

    def _job(self, models: BatchModels) -> None:
        job_id = self.plan.job.id
        before = self.state.owned("job", job_id)
        if before is None:
            self._own("job", job_id, "creating")
        wanted = models.job()
        auto = wanted.pool_info.auto_pool_specification
        if auto is not None and auto.pool is not None:
            auto.pool.metadata = self.mark.batch_metadata()
        try:
            created = jobs.ensure_job(
                self.batch,
                wanted,
                say=self.out.step,
                mark=self.mark,
                # A journal from before ownership marks says only that its job step was done.
                unmarked_is_ours=before in ("creating", "created") or self.state.done("job"),
                ended_ok=self.state.done("tasks"),
            )
        except jobs.JobError:
            if before is None:  # a job of that id exists and is not this run's: keep it so
                self._own("job", job_id, "found")
            raise
        self._own("job", job_id, "created")
        if created and self.state.done("tasks"):
            # The journal says the tasks were added, but the job is new: the one that held
            # them is gone (deleted by a clean-up that was stopped). Add them again.
            self.out.warn(f"job {job_id} was gone; its tasks are added again")
            reset = self.state.without_steps("tasks", "monitor")
            self.state = self.journal.save(dataclasses.replace(reset, tasks_submitted=0))
        self._save(step="job")

    def _schedule(self, models: BatchModels) -> int:
        """Create or update the job schedule, say when it runs, and return: its jobs run
        without apply (`batchspec status` shows them)."""
        schedule_id = self.plan.job.id
        before = self.state.owned("schedule", schedule_id)
        if before is None:
            self._own("schedule", schedule_id, "creating")
        try:
            result = schedules.ensure_schedule(
                self.batch,
                models.job_schedule(),
                self.mark,
                say=self.out.step,
                unmarked_is_ours=before == "created",
            )
        except schedules.ScheduleError:
            if before is None:  # it exists and is not this run's: destroy must keep it
                self._own("schedule", schedule_id, "found")
            raise
        self._own("schedule", schedule_id, "created")
        self._save(step="schedule")
        self.out.step(f"job schedule {schedule_id}: {result} on pool {self.plan.pool.id}")
        self.out.result(
            f"schedule {schedule_id}: {schedules.next_run(self.batch, schedule_id)}; "
            f"SAS URLs of its files expire at {self._sas_expiry():%Y-%m-%dT%H:%M:%SZ}"
        )
        return EXIT_OK

    def _own(
        self, kind: Literal["container", "pool", "job", "schedule"], name: str, status: Ownership
    ) -> None:
        self.state = self.journal.save(self.state.with_owned(kind, name, status))
        self.out.record.resource(kind, name, status)

    def _cleanup(self, *, succeeded: bool, finished: bool) -> None:
        """Apply the spec's clean-up for the outcome; problems are warnings, not failures."""
        if self.plan.schedule is not None:
            return  # the schedule's jobs use the pool and containers; destroy removes them
        result = clean_up(
            self.batch,
            self.blobs,
            self.plan,
            self.state,
            self.plan.cleanup.actions(succeeded),
            mark=self.mark,
            finished=finished,
            out=self.out,
            save=self.journal.save,
        )
        self.state = result.state

    def _interrupted(self) -> int:
        self.out.error("interrupted")
        actions = self.plan.cleanup.on_failure
        deletes = [k for k in ("job", "pool", "containers") if getattr(actions, k) == "delete"]
        if deletes and self.options.confirm(
            f"Apply the on-failure clean-up now (delete: {', '.join(deletes)})?"
        ):
            self._cleanup(succeeded=False, finished=False)
        self._left_in_place()
        return EXIT_INTERRUPTED

    def _left_in_place(self) -> None:
        """Say what this run created and keeps for the next apply (only what it got to)."""
        kept = [
            f"{item.kind} {item.name}"
            for item in self.state.resources
            if item.kind in ("pool", "job") and item.status == "created"
        ]
        again = f"run apply again to continue run {self.plan.run.id}"
        self.out.step(f"left in place for a re-run: {', '.join(kept)}; {again}" if kept else again)

    def _write_traceback(self) -> Path:
        path = self.journal.path.with_suffix(".error.log")
        path.write_text(redact(traceback.format_exc()), encoding="utf-8")
        return path

    def _sas_expiry(self) -> datetime.datetime:
        now = datetime.datetime.now(datetime.UTC)
        if self.plan.schedule is not None:
            return schedules.sas_expiry(self.plan.schedule, self.plan.job.timeout_seconds, now)
        return sas_expiry(self.plan.job.timeout_seconds, now)

    def _save(self, step: str | None = None, **changes: object) -> None:
        state = dataclasses.replace(self.state, **changes)  # type: ignore[arg-type]
        if step is not None and not state.done(step):
            state = state.with_step(step)
        self.state = self.journal.save(state)
