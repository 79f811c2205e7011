"""Which uploads go before the pool, and when outputs are fetched during a run (no services)."""

from __future__ import annotations

import dataclasses
import threading
from pathlib import Path
from typing import Any

import pytest

from batchspec.apply import overlap
from batchspec.apply.monitor import Counts
from batchspec.plan.model import ResourceFilePlan, StartTaskPlan

from .handmade_plans import topn_like_plan


def test_the_start_task_uploads_are_those_of_its_containers(tmp_path: Path) -> None:
    plan = topn_like_plan(tmp_path, tasks=3)
    first = overlap.start_task_uploads(plan)
    assert [u.blob for u in first] == ["count.py"]  # the StartTask fetches `application`
    rest = overlap.other_uploads(plan, first)
    assert [u.blob for u in rest] == ["in0.txt", "in1.txt", "in2.txt"]
    assert overlap.with_uploads(plan, rest).uploads == rest


def test_a_start_task_blob_or_prefix_narrows_what_goes_first(tmp_path: Path) -> None:
    plan = topn_like_plan(tmp_path, tasks=3)
    start = StartTaskPlan(
        command_line="/bin/true",
        resource_files=(
            ResourceFilePlan(container="input", blob="in1.txt"),
            ResourceFilePlan(container="input", prefix="in2"),
            ResourceFilePlan(url="https://example.com/x.py", file_path="x.py"),
        ),
    )
    plan = dataclasses.replace(plan, pool=dataclasses.replace(plan.pool, start_task=start))
    assert [u.blob for u in overlap.start_task_uploads(plan)] == ["in1.txt", "in2.txt"]
    no_start = dataclasses.replace(plan, pool=dataclasses.replace(plan.pool, start_task=None))
    assert overlap.start_task_uploads(no_start) == ()


def test_a_missing_upload_is_found_before_anything_is_created(tmp_path: Path) -> None:
    plan = topn_like_plan(tmp_path, tasks=2)
    overlap.check_sources(plan)
    (tmp_path / "in1.txt").unlink()
    with pytest.raises(FileNotFoundError, match=r"in1\.txt"):
        overlap.check_sources(plan)


def _counts(completed: int) -> Counts:
    return Counts(
        active=10 - completed, running=0, completed=completed, succeeded=completed, failed=0
    )


def test_outputs_are_fetched_when_more_tasks_completed_at_most_every_interval(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    passes: list[dict[str, str]] = []

    def fake_download(_blobs: Any, _plan: Any, **kwargs: Any) -> Any:
        passes.append(dict(kwargs["written_before"]))
        n = len(passes)
        return overlap.DownloadSummary([Path(f"f{n}")], [], [], [], {Path(f"f{n}"): f"d{n}"})

    monkeypatch.setattr(overlap, "download_outputs", fake_download)
    now = [0.0]
    saved: list[dict[str, str]] = []
    early = overlap.EarlyDownloads(
        blobs=None,  # type: ignore[arg-type]
        plan=topn_like_plan(tmp_path),
        known={"old": "d0"},
        on_pass=lambda known: saved.append(dict(known)),
        cancel=threading.Event(),
        interval=5.0,
        clock=lambda: now[0],
    )
    early(_counts(0))  # nothing completed yet: no pass
    early(_counts(2))  # first pass
    now[0] = 1.0
    early(_counts(3))  # too soon after the last pass
    now[0] = 6.0
    early(_counts(3))  # late enough and more completed than at the last pass
    early(_counts(3))  # nothing new
    assert len(passes) == 2
    assert passes[1] == {"old": "d0", "f1": "d1"}  # what the first pass wrote may be replaced
    assert saved[-1] == {"old": "d0", "f1": "d1", "f2": "d2"}
    assert early.written == {Path("f1"), Path("f2")}
