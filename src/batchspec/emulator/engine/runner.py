"""Running one command line as a Batch node agent does: no shell, stdout/stderr to files,
a wall-clock limit, and a kill switch for terminate/delete/shutdown.

A process starts in a worker thread and is waited for through a pidfd on the event loop. The
start blocks its caller until the child has exec'd (vfork), and creating stdout.txt/stderr.txt
touches the disk: off the loop, the scheduler and the other slots carry on meanwhile, which is
what keeps trivial tasks near the rate of `xargs -P` (bench/emulator_throughput.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import shutil
import signal
import subprocess
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from batchspec.emulator.engine import confine
from batchspec.emulator.engine.cmdline import CommandLineError, split_command_line
from batchspec.emulator.service.runtime import Live

# The exit code recorded for a process killed by the emulator (128 + SIGKILL, as a shell reports).
KILLED_EXIT_CODE = 137


class RunningProcess(Protocol):
    """A started process: a task's (subprocess.Popen) or a container client's (asyncio)."""

    @property
    def pid(self) -> int: ...

    @property
    def returncode(self) -> int | None: ...


# Starting is short but blocking; a few threads let several slots start at once.
_STARTER = ThreadPoolExecutor(max_workers=4, thread_name_prefix="batchspec-start")


@dataclass
class Handle:
    """A running process that can be killed from outside, with why it was killed."""

    process: RunningProcess | None = None
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


def _launch_code(exc: OSError) -> str:
    return "DiskFull" if exc.errno == errno.ENOSPC else "CommandLaunchFailed"


def _launch_message(exc: OSError) -> str:
    return f"Failed to launch the specified command line: {exc.strerror or exc}."


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


def _missing_program(program: str, cwd: Path, env: dict[str, str]) -> str | None:
    """Why `program` cannot be started, found before it runs confined (engine/confine.py),
    where the failure would come from inside the helper instead of from the start."""
    if "/" in program:
        path = cwd / program
        if not path.exists():
            return f"The program '{program}' was not found."
        if not os.access(path, os.X_OK) or path.is_dir():
            return f"The program '{program}' is not executable."
        return None
    if shutil.which(program, path=env.get("PATH", os.defpath)) is None:
        return f"The program '{program}' was not found."
    return None


async def run_command(
    command_line: str,
    cwd: Path,
    env: dict[str, str],
    task_dir: Path,
    timeout: float | None,
    handle: Handle,
    keep_group: bool = False,
) -> Outcome:
    """Run `command_line` in `cwd` with `env`; stdout.txt/stderr.txt go to `task_dir`.

    `keep_group`: what the command started in the background outlives it (a multi-instance
    task's coordination command starts the services its application command needs); the
    caller kills the group later."""
    try:
        argv = split_command_line(command_line, env)
    except CommandLineError as exc:
        return Outcome(None, start_error="CommandLineInvalid", start_message=str(exc))
    if not argv:
        return Outcome(None, start_error="CommandLineInvalid", start_message="empty command line")
    missing = _missing_program(argv[0], cwd, env)
    if missing is not None:
        return Outcome(None, start_error="CommandProgramNotFound", start_message=missing)
    try:
        proc = await asyncio.get_running_loop().run_in_executor(
            _STARTER, _start, confine.wrap(argv), cwd, env, task_dir
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
    except OSError as exc:
        # E2BIG (arguments over the kernel's limit), ENOEXEC, ENOSPC...: Batch reports a
        # process it could not start as a task failure, not a service error.
        return Outcome(None, start_error=_launch_code(exc), start_message=_launch_message(exc))
    handle.process = proc
    if handle.on_spawn is not None:
        handle.on_spawn(proc.pid)
    if handle.killed_reason is not None:
        handle.kill(handle.killed_reason)
    timed_out = False
    try:
        async with _Exit(proc) as exited:
            try:
                await asyncio.wait_for(asyncio.shield(exited), timeout)
            except TimeoutError:
                timed_out = True
                handle.kill("timeout")
                await exited
    finally:
        if not keep_group or timed_out or handle.killed_reason is not None:
            # Anything the command left running in its group goes with it, as on a Batch node.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
            if handle.on_exit is not None:
                handle.on_exit(proc.pid)
    code = proc.poll()
    if code is not None and code < 0:
        code = 128 - code
    return Outcome(code, timed_out=timed_out, killed_reason=handle.killed_reason)


def _start(
    argv: list[str], cwd: Path, env: dict[str, str], task_dir: Path
) -> subprocess.Popen[bytes]:
    """Start `argv` in its own process group, stdout.txt/stderr.txt in `task_dir` (blocking)."""
    cwd.mkdir(parents=True, exist_ok=True)
    with open(task_dir / "stdout.txt", "wb") as out, open(task_dir / "stderr.txt", "wb") as err:
        return subprocess.Popen(
            argv,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            start_new_session=True,
        )


class _Exit:
    """`async with _Exit(proc) as exited`: a future done once `proc` has exited and been reaped.

    A pidfd turns readable when the process exits; without pidfds (Linux < 5.3) a thread waits.
    """

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        self.proc = proc
        self.fd = -1
        self.waiter: asyncio.Future[None] | None = None

    async def __aenter__(self) -> asyncio.Future[None]:
        loop = asyncio.get_running_loop()
        try:
            self.fd = os.pidfd_open(self.proc.pid)
        except (AttributeError, OSError):
            self.waiter = asyncio.ensure_future(asyncio.to_thread(self._reap))
            return self.waiter
        self.waiter = loop.create_future()
        loop.add_reader(self.fd, self._readable)
        return self.waiter

    def _reap(self) -> None:
        self.proc.wait()

    def _readable(self) -> None:
        asyncio.get_running_loop().remove_reader(self.fd)
        self.proc.wait()  # it has exited: reaping does not block
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)

    async def __aexit__(self, *exc: object) -> None:
        if self.fd >= 0:
            asyncio.get_running_loop().remove_reader(self.fd)
            os.close(self.fd)
        # Cancelled before the exit (a shutdown): the caller kills the group; subprocess reaps
        # a Popen that is dropped unwaited (its _active list).
