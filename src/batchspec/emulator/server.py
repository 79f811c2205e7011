"""Serving the local Batch service: loopback socket, uvicorn, the scheduler, clean shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import uvicorn
from starlette.applications import Starlette

from batchspec.emulator.api.app import build_app
from batchspec.emulator.api.timeouts import TimedH11Protocol
from batchspec.emulator.engine import confine
from batchspec.emulator.engine.clock import OFF, Clock
from batchspec.emulator.engine.container_engines import engine_problem
from batchspec.emulator.engine.scheduler import Scheduler
from batchspec.emulator.engine.storage_io import upload_files
from batchspec.emulator.service.runtime import Live
from batchspec.emulator.service.store import Store
from batchspec.redact import log_to

HOST = "127.0.0.1"  # loopback only, always
DEFAULT_DELAY = 0.5  # seconds a passing state lasts (never zero: clients must meet them)


class _Server(uvicorn.Server):
    """uvicorn's server, minus re-raising the signal after a clean shutdown (exit status 0)."""

    def handle_exit(self, sig: int, frame: object) -> None:
        if self.should_exit and sig == signal.SIGINT:
            self.force_exit = True
        else:
            self.should_exit = True


def write_ready_file(path: Path, endpoint: str, account: str) -> None:
    """Write {"endpoint", "account", "pid"} to `path` atomically (never the key)."""
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"endpoint": endpoint, "account": account, "pid": os.getpid()}))
    os.replace(tmp, path)


async def _serve(
    port: int,
    data_dir: Path,
    account: str,
    key: str,
    on_ready: Callable[[str], None],
    delay: float,
    clock: Clock,
) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted connections inherit this: without it uvicorn's two writes per response (head,
    # body) meet the client's delayed ACK and every keep-alive request costs about 40 ms.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((HOST, port))
    # Listen now: the ready signal goes out during startup, before uvicorn starts accepting,
    # and a client that connects in between must be queued, not refused.
    sock.listen(2048)
    endpoint = f"http://{HOST}:{sock.getsockname()[1]}"
    store = Store(data_dir / "batch.sqlite3")
    confine.configure(data_dir)  # after the store: its files are among those tasks cannot see
    confine.protect_service()
    live = Live(
        store=store,
        data_dir=data_dir,
        account=account,
        key=key,
        endpoint=endpoint,
        delay=delay,
        upload_files=upload_files,
    )
    live.phases = clock.phases()
    live.container_problem = engine_problem
    app = build_app(live)

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        scheduler_task = asyncio.create_task(Scheduler(live).run())
        on_ready(endpoint)
        try:
            yield
        finally:
            scheduler_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await scheduler_task
            # A stop is a reboot for every node: kill what runs, leave its state to requeue.
            live.kill_tasks("shutdown")
            for handle in list(live.start_tasks.values()):
                handle.kill("shutdown")
            if live.background:
                await asyncio.wait(list(live.background), timeout=10)

    app.router.lifespan_context = lifespan
    # A long keep-alive: SDK clients poll every few seconds and reuse their connections; a
    # server closing idle ones after uvicorn's default 5 s races with the next request.
    # uvicorn's own logging set-up is left out: its records, like every other, go through the
    # redacting handler `serve` installs.
    config = uvicorn.Config(
        app,
        log_level="warning",
        log_config=None,
        http=TimedH11Protocol,
        lifespan="on",
        access_log=False,
        timeout_keep_alive=75,
    )
    server = _Server(config)
    try:
        await server.serve(sockets=[sock])
    finally:
        store.close()
        sock.close()


def serve(
    port: int,
    data_dir: Path,
    account: str,
    key: str,
    on_ready: Callable[[str], None],
    delay: float = DEFAULT_DELAY,
    clock: Clock = OFF,
) -> None:
    """Serve in the foreground until SIGINT/SIGTERM; call on_ready(endpoint) once listening.

    `delay` is how long Batch's passing states (deleting, terminating, resizing, a node
    creating...) last here; it must be above zero. `clock` makes allocation, boot and
    StartTask take Azure-like times (engine/clock.py).
    """
    if delay <= 0:
        raise ValueError("the lifecycle delay must be above zero")
    log_to(sys.stderr)
    _use_pidfd_child_watcher()
    asyncio.run(_serve(port, data_dir, account, key, on_ready, delay, clock))


def _use_pidfd_child_watcher() -> None:
    """On Python 3.11, wait for task processes with pidfds instead of a thread per process.

    Python 3.12+ does this by itself (and deprecates choosing a watcher); without pidfd
    support (Linux < 5.3) the default threaded watcher stays.
    """
    if sys.version_info >= (3, 12) or not hasattr(os, "pidfd_open"):
        return
    try:
        os.close(os.pidfd_open(os.getpid()))
    except OSError:
        return
    asyncio.set_child_watcher(asyncio.PidfdChildWatcher())
