"""Running one command line as a Batch node agent does: no shell, stdout/stderr to files,
a wall-clock limit, and a kill switch for terminate/delete/shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from batchspec.emulator.engine.cmdline import CommandLineError, split_command_line
from batchspec.emulator.service.runtime import Live

# The exit code recorded for a process killed by the emulator (128 + SIGKILL, as a shell reports).
KILLED_EXIT_CODE = 137


@dataclass
class Handle:
    """A running process that can be killed from outside, with why it was killed."""

    process: asyncio.subprocess.Process | None = None
    killed_reason: str | None = None
    # Told the process-group id when it starts and ends (the store keeps it across a crash).
    on_spawn: Callable[[int], None] | None = None
    on_exit: Callable[[int], None] | None = None
    done: asyncio.Event = field(default_factory=asyncio.Event)

    def kill(self, reason: str) -> None:
        """Kill the process group (the command and anything it started)."""
        if self.killed_reason is None:
            self.killed_reason = reason
        proc = self.process
        if proc is not None and proc.returncode is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)


def new_handle(live: Live) -> Handle:
    """A handle whose process group is recorded in the store while it runs."""
    return Handle(on_spawn=live.store.add_proc, on_exit=live.store.remove_proc)


@dataclass(frozen=True)
class Outcome:
    """How a command ended."""

    exit_code: int | None
    timed_out: bool = False
    killed_reason: str | None = None
    start_error: str | None = None  # Batch failure code when the process could not start
    start_message: str = ""


async def run_command(
    command_line: str,
    cwd: Path,
    env: dict[str, str],
    task_dir: Path,
    timeout: float | None,
    handle: Handle,
) -> Outcome:
    """Run `command_line` in `cwd` with `env`; stdout.txt/stderr.txt go to `task_dir`."""
    try:
        argv = split_command_line(command_line, env)
    except CommandLineError as exc:
        return Outcome(None, start_error="CommandLineInvalid", start_message=str(exc))
    if not argv:
        return Outcome(None, start_error="CommandLineInvalid", start_message="empty command line")
    with open(task_dir / "stdout.txt", "wb") as out, open(task_dir / "stderr.txt", "wb") as err:
        try:
            proc = await asyncio.create_subprocess_exec(
                *argv,
                cwd=cwd,
                env=env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                start_new_session=True,
            )
        except FileNotFoundError:
            return Outcome(
                None,
                start_error="CommandProgramNotFound",
                start_message=f"The program '{argv[0]}' was not found.",
            )
        except PermissionError:
            return Outcome(
                None,
                start_error="CommandProgramNotFound",
                start_message=f"The program '{argv[0]}' is not executable.",
            )
    handle.process = proc
    if handle.on_spawn is not None:
        handle.on_spawn(proc.pid)
    if handle.killed_reason is not None:
        handle.kill(handle.killed_reason)
    timed_out = False
    try:
        await asyncio.wait_for(proc.wait(), timeout)
    except TimeoutError:
        timed_out = True
        handle.kill("timeout")
        await proc.wait()
    finally:
        # Anything the command left running in its group goes with it, as on a Batch node.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        if handle.on_exit is not None:
            handle.on_exit(proc.pid)
    code = proc.returncode
    if code is not None and code < 0:
        code = 128 - code
    return Outcome(code, timed_out=timed_out, killed_reason=handle.killed_reason)
