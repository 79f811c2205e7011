"""Clean-up with fakes: only what a run of the spec created goes, and a failing step does not
stop the others; what is left is listed at the end."""

from __future__ import annotations

import io
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from azure.core.exceptions import HttpResponseError
from rich.console import Console

from batchspec.apply.cleanup import clean_up
from batchspec.apply.console import Reporter
from batchspec.apply.journal import RunState
from batchspec.apply.ownership import Mark
from batchspec.plan.model import CleanupActions

from .handmade_plans import topn_like_plan

MINE = Mark("owner-a", "r1", "host:/a/spec.yaml")
OTHER = Mark("owner-b", "r9", "host:/b/spec.yaml")


class FakeBatch:
    def __init__(self, pool_mark: Mark | None) -> None:
        self.pool_mark, self.deleted_pools = pool_mark, []  # type: list[str]

    def begin_delete_job(self, job_id: str, polling_interval: int) -> Any:
        raise HttpResponseError(message="JobBeingTerminated: try later")

    def get_pool(self, pool_id: str, select: list[str]) -> Any:
        items = self.pool_mark.batch_metadata() if self.pool_mark else None
        return SimpleNamespace(metadata=items)

    def begin_delete_pool(self, pool_id: str, polling_interval: int) -> None:
        self.deleted_pools.append(pool_id)


class FakeBlobs:
    def __init__(self, marks: dict[str, Mark | None]) -> None:
        self.marks, self.deleted = marks, []  # type: list[str]

    def get_container_client(self, name: str) -> Any:
        mark = self.marks[name]
        metadata = mark.metadata() if mark else {}
        return SimpleNamespace(get_container_properties=lambda: SimpleNamespace(metadata=metadata))

    def delete_container(self, name: str) -> None:
        self.deleted.append(name)


def run(tmp_path: Path, state: RunState, batch: FakeBatch, blobs: FakeBlobs) -> tuple[Any, str]:
    plan = topn_like_plan(tmp_path, prefix="c")
    buffer = io.StringIO()
    out = Reporter(Console(file=buffer, width=300))
    result = clean_up(
        batch,  # type: ignore[arg-type]
        blobs,  # type: ignore[arg-type]
        plan,
        state,
        CleanupActions("delete", "delete", "delete"),
        mark=MINE,
        finished=True,
        out=out,
        save=lambda s: s,
    )
    return result, buffer.getvalue()


def base() -> RunState:
    return RunState("/a/spec.yaml", "d", "local", "r1", "2026-12-01", "c-pool", "c-job-r1")


def test_only_what_this_spec_made_is_deleted_and_a_failing_step_stops_nothing(
    tmp_path: Path,
) -> None:
    state = (
        base()
        .with_step("job")
        .with_owned("container", "c-application", "created")
        .with_owned("container", "c-input", "found")  # made by an earlier run of this spec
        .with_owned("container", "c-output", "found")  # somebody's data
        .with_owned("pool", "c-pool", "found")
        .with_owned("job", "c-job-r1", "created")
    )
    blobs = FakeBlobs(
        {"c-application": MINE, "c-input": Mark("owner-a", "r0", "x"), "c-output": None}
    )
    batch = FakeBatch(pool_mark=OTHER)
    result, text = run(tmp_path, state, batch, blobs)
    assert blobs.deleted == ["c-application", "c-input"]
    assert batch.deleted_pools == []
    assert "kept: pool c-pool existed before this run (made by run r9 from host:/b/spec.yaml)" in (
        text
    )
    assert "kept: container c-output existed before this run (not made by batchspec)" in text
    assert result.left == ("job c-job-r1 (JobBeingTerminated: try later)",)
    assert "clean-up incomplete; left: job c-job-r1" in text
    # The job could not be deleted: the journal still has it, so the next apply finishes it.
    assert result.state.owned("job", "c-job-r1") == "created"
    assert result.state.owned("container", "c-application") is None


def test_a_pool_an_earlier_run_of_this_spec_made_is_deleted(tmp_path: Path) -> None:
    state = base().with_owned("pool", "c-pool", "found")
    batch = FakeBatch(pool_mark=Mark("owner-a", "r0", "x"))
    _, text = run(tmp_path, state, batch, FakeBlobs({}))
    assert batch.deleted_pools == ["c-pool"]
    assert "clean-up: pool c-pool deletion started" in text
