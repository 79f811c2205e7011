"""The local target's two services: the local Batch service (emulator) and Azurite.

Both run detached on loopback ports with their data under `<home>/local/`, so they outlive
the command that started them and serve the next `apply`, `status` or `logs`. Their pids and
ports are kept in `<home>/local/services.json`; a service whose process is alive and whose
port answers is reused, otherwise it is started again, on its previous port when it is free
(so URLs a pool already holds stay valid), else on a new one.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import batchspec
from batchspec.emulator.engine.confine import HIDE_VARIABLE
from batchspec.emulator.engine.mounts import LOCAL_SERVICES_VARIABLE
from batchspec.local.keys import (
    EMULATOR_KEY_VARIABLE,
    KEYS_FILE,
    PRIVATE_FILE,
    LocalKeys,
    local_keys,
    private_dir,
)
from batchspec.local.processes import (
    log_tail,
    pid_alive,
    port_open,
    same_process,
    spawn,
    started_at,
    terminate,
)
from batchspec.redact import describe_error, redact
from batchspec.targets import ConfigError

# Azurite's well-known development account (public, documented by Microsoft). The local
# target keeps the account name and gives it a key of its own (`batchspec.local.keys`).
AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)
EMULATOR = "emulator"
AZURITE = "azurite"
START_TIMEOUT = 60.0
# The source checkout (src layout), whose node_modules holds the pinned Azurite.
CHECKOUT = Path(batchspec.__file__).resolve().parents[2]

_AZURITE_LISTENING = re.compile(r"listens on https?://[^\s:]+:(\d+)")
_AZURITE_CLOSED = "Blob service successfully closed"


class LocalServiceError(ConfigError):
    """A local service could not be started or found; the message says what to do."""


@dataclass(frozen=True)
class LocalEndpoints:
    """Where the running local services listen, and the development keys they accept."""

    batch_endpoint: str
    batch_account: str
    blob_endpoint: str
    storage_account: str
    batch_key: str = field(repr=False)
    storage_key: str = field(repr=False)


@dataclass(frozen=True)
class ServiceStatus:
    name: str
    running: bool
    pid: int | None
    endpoint: str | None
    log: Path


@dataclass(frozen=True)
class LocalStatus:
    data_dir: Path
    services: tuple[ServiceStatus, ...]


def local_dir(home: Path) -> Path:
    """Where the local target keeps its services' data, logs and state."""
    return home / "local"


def ensure_running(home: Path, timeout: float = START_TIMEOUT) -> LocalEndpoints:
    """Start whichever local service is not running; return both services' endpoints."""
    try:
        return _ensure_running(local_dir(home), timeout)
    except OSError as exc:
        raise _unusable(home, exc) from None


def _unusable(home: Path, exc: OSError) -> LocalServiceError:
    return LocalServiceError(
        f"cannot use the data directory {home} for the local services: {describe_error(exc)} "
        "(choose another with --data-dir or BATCHSPEC_HOME)"
    )


def _ensure_running(root: Path, timeout: float) -> LocalEndpoints:
    from batchspec.emulator.api.auth import DEFAULT_ACCOUNT

    with _locked(root):
        try:
            keys = local_keys(root)
        except (ValueError, KeyError, TypeError):
            raise LocalServiceError(
                f"{root / 'keys.json'} is damaged: run `batchspec local down`, delete it, and "
                "start again (new keys are made)"
            ) from None
        state = _read_state(root)
        missing = [name for name in (EMULATOR, AZURITE) if not _is_running(name, state.get(name))]
        if AZURITE in missing:
            find_azurite(root.parent)  # fail before starting anything without Azurite
        for name in missing:
            # Alive but not answering: stop it, or two servers would share one data directory.
            entry = state.get(name) or {}
            if _owns(entry):
                terminate(int(entry["pid"]), closed=_closed_check(root, name))
        # Both start at once; then each is awaited in turn.
        pending = [_start(name, root, _previous_port(state.get(name)), keys) for name in missing]
        try:
            for starting in pending:
                state[starting.name] = _wait_started(starting, root, timeout, keys)
        except BaseException:
            # Also on Ctrl-C: a started but unrecorded service would be an orphan.
            for starting in pending:
                if starting.name not in state or state[starting.name].get("pid") != starting.pid:
                    terminate(starting.pid)
            raise
        finally:
            _write_state(root, state)
    return LocalEndpoints(
        batch_endpoint=state[EMULATOR]["endpoint"],
        batch_account=state[EMULATOR].get("account", DEFAULT_ACCOUNT),
        blob_endpoint=state[AZURITE]["endpoint"],
        storage_account=AZURITE_ACCOUNT,
        batch_key=keys.batch_key,
        storage_key=keys.storage_key,
    )


def stop(home: Path) -> list[str]:
    """Stop the running local services; return the names of those stopped. Data is kept."""
    try:
        return _stop(local_dir(home))
    except OSError as exc:
        raise _unusable(home, exc) from None


def _stop(root: Path) -> list[str]:
    stopped: list[str] = []
    with _locked(root):
        state = _read_state(root)
        for name in (EMULATOR, AZURITE):
            entry = state.get(name)
            if entry and _owns(entry):
                terminate(int(entry["pid"]), timeout=20.0, closed=_closed_check(root, name))
                stopped.append(name)
            if entry:
                entry["pid"] = None
        _write_state(root, state)
    return stopped


def status(home: Path) -> LocalStatus:
    """Which local services run, with their pids and endpoints (never keys)."""
    root = local_dir(home)
    state = _read_state(root)
    services = []
    for name in (EMULATOR, AZURITE):
        entry = state.get(name) or {}
        running = _is_running(name, entry)
        services.append(
            ServiceStatus(
                name,
                running,
                entry.get("pid") if running else None,
                entry.get("endpoint") if running else None,
                _log_path(root, name),
            )
        )
    return LocalStatus(root, tuple(services))


def find_azurite(home: Path | None = None) -> str:
    """The `azurite-blob` executable: the one `batchspec local install` put under `home`,
    else one on PATH, else the one in a source checkout's node_modules/.bin."""
    from batchspec.local.npm import INSTALL_HINT, installed_azurite_blob

    installed = installed_azurite_blob(home) if home is not None else None
    if installed is not None:
        return str(installed)
    found = shutil.which("azurite-blob")
    if found:
        return found
    local = CHECKOUT / "node_modules" / ".bin" / "azurite-blob"
    if local.exists():
        return str(local)
    raise LocalServiceError(f"Azurite is not installed: {INSTALL_HINT}")


@dataclass(frozen=True)
class _Starting:
    name: str
    pid: int
    port: int
    log_offset: int
    retry_port: bool
    """Started on a previous port: if it fails, try again on a free one."""


def _start(name: str, root: Path, port: int, keys: LocalKeys) -> _Starting:
    log = _log_path(root, name)
    private_dir(log.parent)
    offset = log.stat().st_size if log.exists() else 0
    # The keys go through the environment: every user can read a process's command line.
    env = dict(os.environ)
    if name == EMULATOR:
        _ready_path(root).unlink(missing_ok=True)
        cmd = [sys.executable, "-m", "batchspec", "emulator", "--port", str(port)]
        cmd += ["--data-dir", str(root / EMULATOR), "--ready-file", str(_ready_path(root))]
        env[EMULATOR_KEY_VARIABLE] = keys.batch_key
        # Tasks run as this user: the service covers these from them (engine/confine.py).
        hidden = [root / KEYS_FILE, root / "services.json", log.parent, root / AZURITE]
        env[HIDE_VARIABLE] = os.pathsep.join(map(str, hidden))
        # Blob container mounts are copied from this Azurite (emulator/engine/mounts.py).
        env[LOCAL_SERVICES_VARIABLE] = str(root / "services.json")
    else:
        private_dir(root / AZURITE)
        cmd = [find_azurite(root.parent), "--blobHost", "127.0.0.1", "--blobPort", str(port)]
        cmd += ["--skipApiVersionCheck", "--loose", "--location", str(root / AZURITE)]
        # Without --silent Azurite logs every request line, SAS signatures included; without
        # --disableTelemetry it reports usage to Microsoft.
        cmd += ["--silent", "--disableTelemetry"]
        # Azurite's own way to replace an account's key (its README: AZURITE_ACCOUNTS).
        env["AZURITE_ACCOUNTS"] = f"{AZURITE_ACCOUNT}:{keys.storage_key}"
        # Every line Azurite prints reaches its log through the redactor.
        cmd = [sys.executable, "-m", "batchspec.local.logpipe", str(log), "--", *cmd]
    pid = spawn(cmd, log, env=env)
    return _Starting(name, pid, port, offset, retry_port=port != 0)


def _wait_started(
    starting: _Starting, root: Path, timeout: float, keys: LocalKeys
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        entry = _started_entry(starting, root)
        if entry is not None:
            return entry
        if not pid_alive(starting.pid):
            if starting.retry_port:
                # Most likely the previous port is taken now; any free port will do.
                return _wait_started(_start(starting.name, root, 0, keys), root, timeout, keys)
            break
        time.sleep(0.05)
    else:
        terminate(starting.pid)
    log = _log_path(root, starting.name)
    tail = redact(log_tail(log, starting.log_offset, 400)).strip().replace("\n", " | ")
    raise LocalServiceError(f"the local {starting.name} did not start (see {log}): {tail}")


def _started_entry(starting: _Starting, root: Path) -> dict[str, Any] | None:
    """The state entry of a started service once it listens, else None."""
    if starting.name == EMULATOR:
        try:
            info = json.loads(_ready_path(root).read_text())
        except (OSError, ValueError):
            return None
        endpoint = str(info["endpoint"]).rstrip("/")
        port = int(endpoint.rsplit(":", 1)[1].split("/")[0])
        return {
            "pid": starting.pid,
            "started": started_at(starting.pid),
            "port": port,
            "endpoint": endpoint,
            "account": info["account"],
        }
    found = _AZURITE_LISTENING.search(log_tail(_log_path(root, AZURITE), starting.log_offset))
    if found is None:
        return None
    port = int(found.group(1))
    endpoint = f"http://127.0.0.1:{port}/{AZURITE_ACCOUNT}"
    return {
        "pid": starting.pid,
        "started": started_at(starting.pid),
        "port": port,
        "endpoint": endpoint,
    }


def _closed_check(root: Path, name: str) -> Callable[[], bool] | None:
    """For Azurite: whether it logged that it closed (it then idles ~20 s on timers)."""
    if name != AZURITE:
        return None
    log = _log_path(root, name)
    start = log.stat().st_size if log.exists() else 0
    return lambda: _AZURITE_CLOSED in log_tail(log, start)


def _is_running(name: str, entry: dict[str, Any] | None) -> bool:
    if not entry or not entry.get("port") or not _owns(entry):
        return False
    return port_open(int(entry["port"]))


def _owns(entry: dict[str, Any]) -> bool:
    """Whether the recorded process is still the one this data directory started.

    A pid alone is not enough (the system reuses it; a `vim notes-about-batchspec.txt` given
    the service's old pid was killed when a command-line check was used): the process must also
    have started when the recorded one did.
    """
    pid = entry.get("pid")
    return isinstance(pid, int) and same_process(pid, entry.get("started"))


def _previous_port(entry: dict[str, Any] | None) -> int:
    port = (entry or {}).get("port")
    return port if isinstance(port, int) and not port_open(port) else 0


def _log_path(root: Path, name: str) -> Path:
    return root / "logs" / f"{name}.log"


def _ready_path(root: Path) -> Path:
    return root / "emulator.ready.json"


def _read_state(root: Path) -> dict[str, dict[str, Any]]:
    try:
        data = json.loads((root / "services.json").read_text())
    except (OSError, ValueError):
        return {}
    return {k: v for k, v in data.items() if isinstance(v, dict)} if isinstance(data, dict) else {}


def _write_state(root: Path, state: dict[str, dict[str, Any]]) -> None:
    path = root / "services.json"
    tmp = path.with_suffix(f".tmp-{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE)
    with os.fdopen(fd, "w") as out:
        out.write(json.dumps(state, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, path)


@contextmanager
def _locked(root: Path) -> Iterator[None]:
    """Serialise starts and stops between concurrent batchspec commands."""
    if not root.parent.exists():
        private_dir(root.parent)  # a data directory batchspec makes is its owner's alone
    private_dir(root)
    fd = os.open(root / "services.lock", os.O_WRONLY | os.O_APPEND | os.O_CREAT, PRIVATE_FILE)
    with os.fdopen(fd, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
