"""The apply workflow: storage, pool, job, tasks, monitoring, downloads and clean-up, in order.

Each step is idempotent and journaled, so a run stopped anywhere (an error, Ctrl-C, `kill -9`)
continues on the next apply with the same run id: blobs with the same content are not sent
again, the pool is found and reused, the job is found and continued, and tasks that were
already added answer TaskExists. Ctrl-C and SIGTERM apply the spec's clean-up policy (after a
confirmation on a terminal) and end with exit code 130.
"""

from __future__ import annotations

import dataclasses
import datetime
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from azure.batch import BatchClient
from azure.core.exceptions import AzureError
from azure.storage.blob import BlobServiceClient

from batchspec.apply import job as jobs
from batchspec.apply import monitor, service_faults
from batchspec.apply.batch_models import BatchModels
from batchspec.apply.console import Reporter
from batchspec.apply.downloads import download_outputs
from batchspec.apply.journal import Journal, RunState, now_iso
from batchspec.apply.pool import PoolError, StartTaskFailed, ensure_pool, wait_for_nodes
from batchspec.apply.storage import delete_containers, ensure_containers, upload_files
from batchspec.apply.submit import SubmitError, submit_tasks
from batchspec.plan.model import Plan
from batchspec.redact import describe_error, redact
from batchspec.targets import Target

EXIT_OK, EXIT_FAILED, EXIT_INTERRUPTED = 0, 1, 130
# SAS tokens outlive the job's own time limit by this much (uploads, queueing, downloads).
SAS_MARGIN = datetime.timedelta(hours=1)
SAS_WITHOUT_TIMEOUT = datetime.timedelta(days=2)
NODE_WAIT_SECONDS = 20 * 60.0
MONITOR_MARGIN_SECONDS = 5 * 60.0

Confirm = Callable[[str], bool]


@dataclass(frozen=True)
class ApplyOptions:
    recreate_pool: bool = False
    confirm: Confirm = lambda _question: True
    """Asks the user a yes/no question; without a terminal (or with --yes) it answers yes."""
    poll_seconds: float = 2.0


def new_run_state(plan: Plan, target: Target) -> RunState:
    """The journal record for a run that is about to start."""
    return RunState(
        spec_path=str(plan.spec_path),
        spec_digest=plan.spec_digest,
        target=target.name,
        run_id=plan.run.id,
        run_date=plan.run.date,
        pool_id=plan.pool.id,
        job_id=plan.job.id,
        started_at=now_iso(),
    )


def sas_expiry(timeout_seconds: int | None, now: datetime.datetime) -> datetime.datetime:
    """When a run's SAS tokens expire: the job's timeout plus a margin from `now`.

    Batch takes timeouts up to about 10.7 million days, past datetime's last year; such a
    job's tokens expire at the end of the year 9999, the latest time Storage can be told.
    """
    try:
        life = (
            SAS_WITHOUT_TIMEOUT
            if timeout_seconds is None
            else datetime.timedelta(seconds=timeout_seconds)
        )
        return now + life + SAS_MARGIN
    except OverflowError:
        return datetime.datetime.max.replace(tzinfo=datetime.UTC)


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
        self.plan, self.target, self.journal = plan, target, journal
        self.state, self.out, self.options = state, reporter, options
        self.batch: BatchClient = target.batch_client()
        self.blobs: BlobServiceClient = target.blob_service()

    def run(self) -> int:
        """Run every step; return the exit code (0, 1 or 130)."""
        try:
            try:
                code = self._steps()
            except KeyboardInterrupt:
                return self._interrupted()
            except (
                PoolError,
                jobs.JobError,
                SubmitError,
                monitor.MonitorTimeout,
                service_faults.ServiceOutage,
            ) as exc:
                self.out.error(str(exc))
                if isinstance(exc, StartTaskFailed):
                    self.out.step("  StartTask stderr (last lines):")
                    self.out.block(exc.stderr_tail)
                self._left_in_place()
                return EXIT_FAILED
            except (AzureError, OSError) as exc:
                self.out.error(describe_error(exc))
                self._left_in_place()
                return EXIT_FAILED
            except Exception as exc:
                # Not expected: still one line for the user, and the redacted traceback on disk.
                where = self._write_traceback()
                self.out.error(f"unexpected {describe_error(exc)} (details in {where})")
                self._left_in_place()
                return EXIT_FAILED
            self._cleanup()
            self._save(finished=True, exit_code=code)
            return code
        except KeyboardInterrupt:
            self.out.error("interrupted during clean-up: stopped without finishing it")
            return EXIT_INTERRUPTED
        finally:
            self.batch.close()
            self.blobs.close()

    def _steps(self) -> int:
        plan, out = self.plan, self.out
        out.step(f"run {plan.run.id} of {plan.name} on {self.target.describe()}")
        created = ensure_containers(self.blobs, plan)
        kept = len(plan.containers) - len(created)
        out.step(f"containers: {len(created)} created, {kept} already there")
        self._save(step="containers")
        sent = upload_files(self.blobs, plan)
        out.step(
            f"uploads: {sent.uploaded} file(s) sent ({sent.bytes_uploaded} bytes), "
            f"{sent.skipped} unchanged"
        )
        self._save(step="uploads")

        models = BatchModels(plan, self.target.sas(self._sas_expiry()))
        created_pool = ensure_pool(
            self.batch,
            models.pool(),
            recreate=self.options.recreate_pool,
            say=out.step,
            confirm=self.options.confirm,
        )
        self._save(step="pool", pool_created=self.state.pool_created or created_pool)
        wait_for_nodes(
            self.batch,
            plan.pool.id,
            plan.pool.dedicated_nodes + plan.pool.spot_nodes,
            timeout=NODE_WAIT_SECONDS,
            say=out.step,
            warn=out.warn,
            poll=min(self.options.poll_seconds, 1.0),
            outage=service_faults.OUTAGE_SECONDS,
        )

        jobs.ensure_job(self.batch, models.job(), say=out.step, ended_ok=self.state.done("tasks"))
        self._save(step="job")
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

        timeout = plan.job.timeout_seconds
        counts = monitor.watch(
            self.batch,
            plan.job.id,
            total,
            out,
            poll=self.options.poll_seconds,
            timeout=None if timeout is None else timeout + MONITOR_MARGIN_SECONDS,
            outage=service_faults.OUTAGE_SECONDS,
        )
        self._save(step="monitor")
        out.step(f"tasks: {counts.succeeded} succeeded, {counts.failed} failed")
        if counts.failed:
            ended = monitor.early_end(self.batch, plan.job.id)
            if ended:
                out.error(f"job {plan.job.id} ended early: {ended}")
            failures = monitor.failed_tasks(self.batch, plan.job.id)
            monitor.report_failures(out, failures, counts.failed)

        got = download_outputs(self.blobs, plan)
        refused = f", {len(got.refused)} refused" if got.refused else ""
        out.step(
            f"downloads: {len(got.written)} file(s) written, {len(got.skipped)} unchanged{refused}"
        )
        for path in got.written:
            out.step(f"  {path}")
        for reason in got.refused:
            out.warn(f"not downloaded: {reason}")
        self._save(step="downloads")
        # Outputs that did not arrive make the run a failure even if every task succeeded.
        return EXIT_FAILED if counts.failed or got.refused else EXIT_OK

    def _cleanup(self) -> None:
        """Apply the spec's clean-up policy; problems are warnings, not failures."""
        policy, plan, out = self.plan.cleanup, self.plan, self.out
        undone: list[str] = []
        try:
            if policy.job == "delete":
                if jobs.delete_job(self.batch, plan.job.id):
                    out.step(f"clean-up: job {plan.job.id} deleted")
                undone += ["job", "tasks", "monitor"]
            elif self.state.done("job"):
                jobs.terminate_job(self.batch, plan.job.id)
                out.step(f"clean-up: job {plan.job.id} kept (terminated)")
            if policy.pool == "delete":
                self.batch.begin_delete_pool(plan.pool.id, polling_interval=1)
                out.step(f"clean-up: pool {plan.pool.id} deletion started")
                undone.append("pool")
            if policy.containers == "delete":
                names = delete_containers(self.blobs, plan)
                out.step(f"clean-up: containers deleted: {', '.join(names) or 'none'}")
                undone += ["containers", "uploads"]
        except Exception as exc:  # the run's outcome stands; a clean-up problem is a warning
            out.warn(f"clean-up incomplete: {describe_error(exc)}")
        if undone:
            reset = self.state.without_steps(*undone)
            if "tasks" in undone:
                reset = dataclasses.replace(reset, tasks_submitted=0)
            self.state = self.journal.save(reset)
        self._save(step="cleanup")

    def _interrupted(self) -> int:
        self.out.error("interrupted")
        if self.options.confirm("Apply the clean-up policy now?"):
            self._cleanup()
            self.out.step("run apply again to start this run over where it was cleaned up")
        else:
            self._left_in_place()
        return EXIT_INTERRUPTED

    def _left_in_place(self) -> None:
        """Say what this run created and keeps for the next apply (only what it got to)."""
        kept = [
            f"{step} {ident}"
            for step, ident in (("pool", self.plan.pool.id), ("job", self.plan.job.id))
            if self.state.done(step)
        ]
        again = f"run apply again to continue run {self.plan.run.id}"
        self.out.step(f"left in place for a re-run: {', '.join(kept)}; {again}" if kept else again)

    def _write_traceback(self) -> Path:
        path = self.journal.path.with_suffix(".error.log")
        path.write_text(redact(traceback.format_exc()), encoding="utf-8")
        return path

    def _sas_expiry(self) -> datetime.datetime:
        return sas_expiry(self.plan.job.timeout_seconds, datetime.datetime.now(datetime.UTC))

    def _save(self, step: str | None = None, **changes: object) -> None:
        state = dataclasses.replace(self.state, **changes)  # type: ignore[arg-type]
        if step is not None and not state.done(step):
            state = state.with_step(step)
        self.state = self.journal.save(state)
