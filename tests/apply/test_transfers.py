"""run_all, the thread runner of uploads and downloads: a stall is said, Ctrl-C stops it at once
and a failure is raised in the caller."""

from __future__ import annotations

import threading

import pytest

from batchspec.apply import storage
from batchspec.apply.storage import run_all


def test_a_stall_is_said_once_and_the_transfer_goes_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(storage, "STALL_SECONDS", 0.3)
    told = threading.Event()
    said: list[float] = []

    def stalled(seconds: float) -> None:
        said.append(seconds)
        told.set()

    def work(item: int) -> None:
        # The first item holds until the stall has been said, as a request without an answer.
        if item == 0:
            assert told.wait(10), "the stall was never said"

    run_all(work, [0, 1, 2], 1, threading.Event(), stalled)
    assert len(said) == 1 and said[0] >= 0.3


def test_the_first_real_failure_is_raised_and_the_rest_is_not_started() -> None:
    started: list[int] = []

    def work(item: int) -> None:
        started.append(item)
        if item == 0:
            raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        run_all(work, list(range(50)), 1, threading.Event())
    assert started == [0]


def test_a_set_cancel_starts_nothing() -> None:
    cancel = threading.Event()
    cancel.set()
    started: list[int] = []
    run_all(started.append, [1, 2, 3], 2, cancel)
    assert started == []
