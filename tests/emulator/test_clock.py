"""The realistic clock: Azure-like allocation, boot and StartTask phases, off by default."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from azure.batch import BatchClient
from azure.batch import models as m
from azure.core.credentials import AzureNamedKeyCredential
from emulator_helpers import pool_options, unique, wait_until

from batchspec.emulator.engine.clock import AZURE, OFF, Clock, ClockError, parse
from conftest import BatchService, start_batch_service


def test_the_clock_is_off_unless_asked_for() -> None:
    assert parse("") == OFF
    assert parse("off") == OFF
    assert OFF.phases() == {}


def test_azure_times_scale_by_a_factor() -> None:
    assert parse("azure") == AZURE
    scaled = parse("azure:0.01")
    assert scaled.allocation == pytest.approx(AZURE.allocation / 100)
    assert scaled.pool_ready() == pytest.approx(AZURE.pool_ready() / 100)
    assert set(scaled.phases()) == {"allocation", "creating", "starting", "start_task"}


def test_each_phase_can_be_set_on_its_own() -> None:
    clock = parse("allocation=2, start_task=0.5")
    assert clock == Clock(allocation=2.0, start_task=0.5)
    assert clock.phases() == {"allocation": 2.0, "start_task": 0.5}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("azure:fast", "scale factor must be a number"),
        ("azure:-1", "must be zero or more"),
        ("boot=3", "unknown clock setting 'boot=3'"),
        ("allocation", "unknown clock setting"),
        ("allocation=nan", "must be zero or more"),
    ],
)
def test_a_bad_setting_is_refused_with_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(ClockError, match=message):
        parse(text)


def test_the_emulator_refuses_a_bad_clock_setting(tmp_path: Path) -> None:
    with (
        pytest.raises(RuntimeError, match="exited with 2"),
        start_batch_service(tmp_path / "data", extra_args=("--clock", "slow")),
    ):
        pass
    assert "Invalid value for '--clock'" in (tmp_path / "data.log").read_text()


@pytest.fixture(scope="module")
def slow_service() -> Iterator[BatchService]:
    """A local Batch service whose pools take a little while at every phase."""
    clock = "allocation=1.5,creating=1,starting=1,start_task=1.5"
    with (
        tempfile.TemporaryDirectory(prefix="batch-clock-") as tmp,
        start_batch_service(Path(tmp) / "data", extra_args=("--clock", clock)) as svc,
    ):
        yield svc


def test_with_the_clock_on_a_pool_goes_through_every_phase_in_order(
    slow_service: BatchService,
) -> None:
    client = BatchClient(
        slow_service.endpoint, AzureNamedKeyCredential(slow_service.account, slow_service.key)
    )
    pool_id = unique("clock")
    start = m.BatchStartTask(command_line="/bin/true", wait_for_success=True)
    client.create_pool(pool_options(pool_id, nodes=1, start_task=start))
    seen: list[tuple[str, str]] = []

    def observe() -> bool:
        pool = client.get_pool(pool_id)
        nodes = list(client.list_nodes(pool_id))
        state = nodes[0].state if nodes else None
        allocation = pool.allocation_state.value if pool.allocation_state else ""
        step = (allocation, state.value if state else "no node")
        if not seen or seen[-1] != step:
            seen.append(step)
        return state == m.BatchNodeState.IDLE

    wait_until(observe, timeout=60, interval=0.05)
    client.close()
    node_states = [s for _, s in seen]
    assert seen[0] == ("resizing", "no node")  # allocation: the pool has no node yet
    order = ["creating", "starting", "waitingforstarttask", "idle"]
    assert [s for s in dict.fromkeys(node_states) if s in order] == order
