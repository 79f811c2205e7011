"""A realistic clock for the local service: Azure-like times for allocation, boot and StartTask.

Off by default, so that the local target stays fast. With it on, a pool's nodes take about as
long as on Azure to be allocated, to boot and to get through their StartTask, scaled down by a
factor, so that a benchmark can show what `apply` adds to the critical path (what it does not
overlap with those waits). The typical Azure figures and their sources are in bench/README.md.

    batchspec emulator --clock azure          # Azure's typical times, unscaled (minutes)
    batchspec emulator --clock azure:0.01     # the same, scaled: 1.8 s allocation...
    BATCHSPEC_EMULATOR_CLOCK=azure:0.01       # the same for an emulator that `apply` starts
"""

from __future__ import annotations

import asyncio
import datetime as dt
import math
import os
from dataclasses import dataclass, replace

from batchspec.emulator.service import lifecycle
from batchspec.emulator.service.runtime import Live
from batchspec.emulator.service.values import Doc, iso, now, parse_iso

ENV_VAR = "BATCHSPEC_EMULATOR_CLOCK"


@dataclass(frozen=True)
class Clock:
    """Seconds each phase of a node's life takes; 0 leaves the service's own short delay."""

    allocation: float = 0.0
    """A resize (or a new pool) until its nodes exist: the pool is `resizing` meanwhile."""
    creating: float = 0.0
    """A new node's VM being created (node state `creating`)."""
    starting: float = 0.0
    """The VM booting until its node agent reports (node state `starting`)."""
    start_task: float = 0.0
    """Added to every StartTask run: the node agent fetching its resource files and starting it."""

    def scaled(self, factor: float) -> Clock:
        """Every phase multiplied by `factor`."""
        return replace(
            self,
            allocation=self.allocation * factor,
            creating=self.creating * factor,
            starting=self.starting * factor,
            start_task=self.start_task * factor,
        )

    def phases(self) -> dict[str, float]:
        """The phases this clock times (those above zero), by name."""
        values = {
            "allocation": self.allocation,
            "creating": self.creating,
            "starting": self.starting,
            "start_task": self.start_task,
        }
        return {name: seconds for name, seconds in values.items() if seconds > 0}

    def pool_ready(self) -> float:
        """Seconds from a pool's creation until its nodes can run tasks (StartTask included)."""
        return self.allocation + self.creating + self.starting + self.start_task


AZURE = Clock(allocation=180.0, creating=60.0, starting=60.0, start_task=30.0)
"""Typical times of a small Linux pool on Azure Batch (bench/README.md has the sources)."""

OFF = Clock()


class ClockError(ValueError):
    """A clock setting that cannot be read."""


def parse(text: str) -> Clock:
    """`off`, `azure`, `azure:FACTOR`, or `allocation=S,creating=S,starting=S,start_task=S`."""
    text = text.strip()
    if text in ("", "off"):
        return OFF
    if text == "azure" or text.startswith("azure:"):
        _, _, factor_text = text.partition(":")
        factor = _number(factor_text or "1", "the scale factor")
        return AZURE.scaled(factor)
    values: dict[str, float] = {}
    known = {"allocation", "creating", "starting", "start_task"}
    for part in text.split(","):
        name, equals, value = part.partition("=")
        name = name.strip()
        if not equals or name not in known:
            raise ClockError(
                f"unknown clock setting {part.strip()!r}: use off, azure, azure:FACTOR or "
                "allocation=S,creating=S,starting=S,start_task=S"
            )
        values[name] = _number(value, name)
    return Clock(**values)


def from_environment() -> Clock:
    """The clock named by BATCHSPEC_EMULATOR_CLOCK (off when unset)."""
    return parse(os.environ.get(ENV_VAR, ""))


def _number(text: str, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ClockError(f"{what} must be a number of seconds or a factor, not {text!r}") from None
    if not math.isfinite(value) or value < 0:
        raise ClockError(f"{what} must be zero or more, not {text!r}")
    return value


# -- the engine's side: waiting out a phase ------------------------------------------------------
def allocating(live: Live, pool: Doc) -> bool:
    """Whether a resizing pool is still within its allocation time (its nodes do not exist yet)."""
    seconds = live.phases.get("allocation", 0.0)
    if not seconds or pool.get("allocationState") != "resizing":
        return False
    began = parse_iso(str(pool.get("allocationStateTransitionTime") or iso()))
    if now() >= began + dt.timedelta(seconds=seconds):
        return False
    # Tick again when it is over (the scheduler also ticks on its own every half second).
    asyncio.get_running_loop().call_later(min(seconds, 0.5), live.poke)
    return True


async def boot(live: Live, node_id: str) -> None:
    """A new node: `creating`, then `starting`, for the clock's times, then its boot."""
    for state in ("creating", "starting"):
        seconds = live.phases.get(state, 0.0)
        if not seconds:
            continue
        node = live.store.get_node(node_id)
        if node is None:
            return
        lifecycle.set_node_state(node, state)
        live.store.put_node(node["_poolId"], node)
        await asyncio.sleep(seconds)
    from batchspec.emulator.engine.starttask import boot_node  # starttask pauses here too

    if live.store.get_node(node_id) is not None:
        await boot_node(live, node_id)


async def pause(live: Live, phase: str) -> None:
    """Wait out a phase the clock times (nothing when it is off)."""
    seconds = live.phases.get(phase, 0.0)
    if seconds:
        await asyncio.sleep(seconds)
