"""Detached background processes: start one with its output in a log, check it, stop it."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

# Popen objects of the services this process started, so they are reaped when stopped and
# never garbage-collected while running.
_children: dict[int, subprocess.Popen[bytes]] = {}


def spawn(
    cmd: Sequence[str],
    log_path: Path,
    env: Mapping[str, str] | None = None,
    umask: int = 0o077,
) -> int:
    """Start `cmd` in its own session (it outlives this process), output appended to `log_path`.

    The log is readable by its owner only, and the process runs with `umask` (by default
    nothing it writes is readable by other users) and `env` (default: this environment).
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "ab") as log:
        proc = subprocess.Popen(
            list(cmd),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
            env=None if env is None else dict(env),
            umask=umask,
        )
    _children[proc.pid] = proc
    return proc.pid


def pid_alive(pid: int) -> bool:
    """Whether a process with this id exists and has not exited (zombies count as exited)."""
    child = _children.get(pid)
    if child is not None:
        # Our own child: only waiting on it tells reliably, and reaps it once it exits.
        if child.poll() is None:
            return True
        _children.pop(pid, None)
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    stat = Path(f"/proc/{pid}/stat")
    with contextlib.suppress(OSError):
        # The state follows the parenthesised command name: `pid (comm) S ...`.
        return stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"
    return True


def started_at(pid: int) -> float | None:
    """When the process started (seconds since the epoch, as the OS keeps it), or None.

    With the pid, this names one process: a pid is reused by the next process the system
    starts, its start time is not.
    """
    import psutil

    try:
        return float(psutil.Process(pid).create_time())
    except (psutil.Error, OSError):
        return None


def same_process(pid: int, started: object) -> bool:
    """Whether `pid` is still the process that started at `started` (from `started_at`)."""
    if not isinstance(started, int | float) or not pid_alive(pid):
        return False
    now = started_at(pid)
    # The OS gives start times in clock ticks; psutil's float of one is the same every time.
    return now is not None and abs(now - started) < 0.05


def port_open(port: int, host: str = "127.0.0.1", timeout: float = 0.5) -> bool:
    """Whether something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def terminate(pid: int, timeout: float = 10.0, closed: Callable[[], bool] | None = None) -> None:
    """Stop a process started by `spawn` and its session: SIGTERM, then SIGKILL after `timeout`.

    `closed`, when given, tells that the process has finished its own shutdown, so SIGKILL can
    follow at once (for servers that linger on timers after closing).
    """
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            # Services run in their own session, whose process group id is their pid.
            os.killpg(pid, sig)
        except ProcessLookupError:
            break
        except PermissionError:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not pid_alive(pid):
                return
            if sig == signal.SIGTERM and closed is not None and closed():
                break
            time.sleep(0.05)


def log_tail(log_path: Path, start: int = 0, limit: int = 2000) -> str:
    """The whole last lines of a log from byte offset `start`, at most `limit` characters.

    Cut only at a line boundary, so that a secret is never sliced into a part that redaction
    would not recognise; a last line longer than `limit` is left out.
    """
    try:
        with log_path.open("rb") as log:
            log.seek(start)
            text = log.read().decode(errors="replace")
    except OSError:
        return ""
    if len(text) <= limit:
        return text
    return text[-limit:].partition("\n")[2]
