"""Shared fixtures: a real Azurite blob service and a real local Batch service, per test session.

`azurite` yields an AzuriteService (blob_endpoint, account_name, account_key, connection_string).
`batch_service` yields a BatchService (endpoint, account, key, data_dir) for
`python -m batchspec emulator`, and `batch_client` an azure.batch.BatchClient signed with
AzureNamedKeyCredential. `start_batch_service(data_dir)` starts another emulator for tests that
need their own (e.g. a restart). Every process is stopped at the end, even when tests fail.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent

# Azurite's well-known development account (public, documented by Microsoft).
AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)


@dataclass(frozen=True)
class AzuriteService:
    """A running Azurite blob service on 127.0.0.1."""

    blob_endpoint: str
    account_name: str
    account_key: str
    connection_string: str
    location: Path


@dataclass(frozen=True)
class BatchService:
    """A running local Batch service (`batchspec emulator`)."""

    endpoint: str
    account: str
    key: str
    data_dir: Path
    pid: int


def find_azurite_blob() -> str:
    """Azurite's blob server: PATH first, then the repo's node_modules."""
    found = shutil.which("azurite-blob")
    if found:
        return found
    local = REPO_ROOT / "node_modules" / ".bin" / "azurite-blob"
    if local.exists():
        return str(local)
    raise RuntimeError("azurite-blob not found on PATH nor in node_modules/.bin: run `npm ci`")


def _stop(proc: subprocess.Popen[Any], timeout: float = 10.0) -> None:
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=timeout)


@contextmanager
def start_azurite(location: Path, timeout: float = 30.0) -> Iterator[AzuriteService]:
    """Start azurite-blob on a free loopback port; yield it once it listens; stop it after."""
    location.mkdir(parents=True, exist_ok=True)
    cmd = [
        find_azurite_blob(),
        "--blobHost",
        "127.0.0.1",
        "--blobPort",
        "0",
        "--skipApiVersionCheck",
        "--location",
        str(location),
        "--silent",
        "--loose",
    ]
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True
    )
    closed = threading.Event()
    try:
        port = _read_azurite_port(proc, timeout, closed)
        endpoint = f"http://127.0.0.1:{port}/{AZURITE_ACCOUNT}"
        conn = (
            f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};"
            f"AccountKey={AZURITE_KEY};BlobEndpoint={endpoint};"
        )
        yield AzuriteService(endpoint, AZURITE_ACCOUNT, AZURITE_KEY, conn, location)
    finally:
        # Azurite idles ~20 s on timers after it has closed: once it says so, kill it.
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            closed.wait(10)
            if proc.poll() is None:
                proc.kill()
        _stop(proc)
        if proc.stdout is not None:
            proc.stdout.close()


def _read_azurite_port(proc: subprocess.Popen[str], timeout: float, closed: threading.Event) -> int:
    found: list[int] = []
    seen: list[str] = []
    done = threading.Event()

    def reader() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            seen.append(line)
            if "listens on" in line and not found:
                found.append(int(line.strip().rsplit(":", 1)[1]))
                done.set()
            if "successfully closed" in line:
                closed.set()
        done.set()
        closed.set()

    threading.Thread(target=reader, daemon=True).start()
    done.wait(timeout)
    if not found:
        raise RuntimeError("Azurite did not start: " + "".join(seen)[-2000:])
    return found[0]


@contextmanager
def start_batch_service(
    data_dir: Path,
    timeout: float = 30.0,
    extra_args: tuple[str, ...] = (),
    env: dict[str, str] | None = None,
) -> Iterator[BatchService]:
    """Start `python -m batchspec emulator` on a free port; yield it when ready; stop it after.

    `env` adds to (or overrides) the environment the service runs in.
    """
    from batchspec.emulator.api.auth import DEFAULT_ACCOUNT, DEFAULT_KEY

    data_dir.mkdir(parents=True, exist_ok=True)
    ready = data_dir.parent / f"{data_dir.name}.ready-{os.getpid()}-{time.monotonic_ns()}.json"
    log = open(data_dir.parent / f"{data_dir.name}.log", "ab")  # noqa: SIM115
    cmd = [sys.executable, "-m", "batchspec", "emulator", "--port", "0"]
    # The public development key only because it is asked for: a test's `extra_args` can
    # choose another (the last --key wins).
    cmd += ["--data-dir", str(data_dir), "--ready-file", str(ready), "--key", DEFAULT_KEY]
    cmd += list(extra_args)
    proc = subprocess.Popen(
        cmd,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        env=None if env is None else {**os.environ, **env},
    )
    try:
        deadline = time.monotonic() + timeout
        while not ready.exists():
            if proc.poll() is not None:
                raise RuntimeError(f"the emulator exited with {proc.returncode}; see {log.name}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the emulator did not become ready; see {log.name}")
            time.sleep(0.05)
        info = json.loads(ready.read_text())
        assert info["account"] == DEFAULT_ACCOUNT
        yield BatchService(info["endpoint"], info["account"], DEFAULT_KEY, data_dir, proc.pid)
    finally:
        _stop(proc, timeout=20.0)
        log.close()
        ready.unlink(missing_ok=True)


@pytest.fixture(scope="session")
def azurite() -> Iterator[AzuriteService]:
    """A real Azurite blob service for the whole session."""
    with tempfile.TemporaryDirectory(prefix="azurite-") as tmp, start_azurite(Path(tmp)) as svc:
        yield svc


@pytest.fixture(scope="session")
def batch_service() -> Iterator[BatchService]:
    """A real local Batch service for the whole session."""
    with (
        tempfile.TemporaryDirectory(prefix="batch-emulator-") as tmp,
        start_batch_service(Path(tmp) / "data") as svc,
    ):
        yield svc


@pytest.fixture(scope="session")
def batch_client(batch_service: BatchService) -> Iterator[Any]:
    """An azure.batch.BatchClient for `batch_service`, signed with AzureNamedKeyCredential."""
    from azure.batch import BatchClient
    from azure.core.credentials import AzureNamedKeyCredential

    client = BatchClient(
        batch_service.endpoint, AzureNamedKeyCredential(batch_service.account, batch_service.key)
    )
    try:
        yield client
    finally:
        client.close()
