"""apply through kills and storage faults, on the session's Batch service and Azurite with a
fault proxy in front: each ends with a clear message in bounded time, and the next apply
continues the run (kill -9 or SIGTERM during clean-up, a killed --rerun, Ctrl-C during a large
upload, storage frozen or gone during downloads)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from azure.batch import BatchClient
from azure.core.exceptions import ResourceNotFoundError
from azure.storage.blob import BlobServiceClient

from batchspec import targets
from batchspec.apply.journal import Journal

from .conftest import SecretCheck, azure_env
from .faults import FaultProxy, fault_proxy
from .specs import squares_spec
from .test_apply_command import apply_cli

pytestmark = pytest.mark.timeout(240)


@pytest.fixture
def batch_proxy(batch_service: Any) -> Iterator[FaultProxy]:
    with fault_proxy(batch_service.endpoint) as running:
        yield running


@pytest.fixture
def storage_proxy(azurite: Any) -> Iterator[FaultProxy]:
    upstream = azurite.blob_endpoint.rsplit("/", 1)[0]
    with fault_proxy(upstream) as running:
        yield running


def storage_env(azurite: Any, proxy: FaultProxy) -> dict[str, str]:
    return {
        "AZURE_STORAGE_CONNECTION_STRING": (
            f"DefaultEndpointsProtocol=http;AccountName={azurite.account_name};"
            f"AccountKey={azurite.account_key};BlobEndpoint={proxy.url}/{azurite.account_name}"
        )
    }


def start_apply(spec: Path, home: Path, env: dict[str, str], *more: str) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "batchspec", "apply", str(spec), "--yes"]
    command += ["--target", "azure", "--data-dir", str(home), *more]
    return subprocess.Popen(
        command,
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def wait_for(proxy: FaultProxy, method: str, path: str, proc: subprocess.Popen[str]) -> None:
    """Until the proxy holds a matching request (apply is then inside that step)."""
    deadline = time.monotonic() + 120
    while proxy.count(method, path, "hang") == 0:
        assert proc.poll() is None, proc.communicate()[0]
        assert time.monotonic() < deadline, f"apply never sent {method} {path}"
        time.sleep(0.05)


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM], ids=["kill-9", "sigterm"])
def test_a_kill_during_clean_up_is_finished_by_the_next_apply(
    tmp_path: Path,
    how: signal.Signals,
    batch_proxy: FaultProxy,
    batch_service: Any,
    azurite: Any,
    batch_client: BatchClient,
    secret_check: SecretCheck,
) -> None:
    prefix = f"tidy{how.value}"
    spec = squares_spec(tmp_path / "specs", prefix, tasks=3, sleep=0.01, job_cleanup="delete")
    home = tmp_path / "home"
    env = azure_env(batch_service, azurite) | {"AZURE_BATCH_ENDPOINT": batch_proxy.url}
    batch_proxy.add("DELETE", r"^/jobs/[^/]+$", "hang", times=None)
    proc = start_apply(spec, home, env)
    wait_for(batch_proxy, "DELETE", r"^/jobs/[^/]+$", proc)
    proc.send_signal(how)
    output, _ = proc.communicate(timeout=60)
    secret_check.add("killed apply", output)
    state = Journal(home, spec, "azure").load()
    assert state is not None and state.outcome == 0 and not state.finished
    if how == signal.SIGTERM:
        assert proc.returncode == 130
        assert "interrupted during clean-up" in output and "run apply again to finish it" in output

    batch_proxy.clear()
    again = apply_cli(
        [str(spec), "--yes", "--target", "azure", "--data-dir", str(home)], secret_check, env
    )
    assert again.exit_code == 0, again.output
    assert f"run {state.run_id}: its work is done (exit code 0); finishing its clean-up" in (
        again.output
    )
    assert f"clean-up: job {state.job_id} deleted" in again.output
    assert "tasks:" not in again.output  # no job made again, no task waited for
    with pytest.raises(ResourceNotFoundError):
        batch_client.get_job(state.job_id)
    final = Journal(home, spec, "azure").load()
    assert final is not None and final.finished and final.exit_code == 0


def test_a_rerun_killed_before_it_created_anything_is_continued(
    tmp_path: Path,
    storage_proxy: FaultProxy,
    batch_service: Any,
    azurite: Any,
    secret_check: SecretCheck,
) -> None:
    spec = squares_spec(tmp_path / "specs", "rekilled", tasks=2, sleep=0.01)
    home = tmp_path / "home"
    env = azure_env(batch_service, azurite) | storage_env(azurite, storage_proxy)
    args = [str(spec), "--yes", "--target", "azure", "--data-dir", str(home)]
    first = apply_cli(args, secret_check, env)
    assert first.exit_code == 0, first.output
    journal = Journal(home, spec, "azure")
    before = journal.load()
    assert before is not None and before.finished

    container = r"^/[^/]+/rekilled-out$"
    storage_proxy.add("PUT", container, "hang", times=None)
    proc = start_apply(spec, home, env, "--rerun")
    wait_for(storage_proxy, "PUT", container, proc)
    proc.kill()
    secret_check.add("killed rerun", proc.communicate(timeout=30)[0])
    killed = journal.load()
    assert killed is not None and killed.run_id != before.run_id and not killed.finished

    storage_proxy.clear()
    again = apply_cli(args, secret_check, env)
    assert again.exit_code == 0, again.output
    assert f"continuing run {killed.run_id}" in again.output
    assert "tasks: 2 added (2 planned)" in again.output


def test_ctrl_c_during_a_large_upload_stops_it_and_exits_130(
    tmp_path: Path,
    storage_proxy: FaultProxy,
    batch_service: Any,
    azurite: Any,
    secret_check: SecretCheck,
) -> None:
    root = tmp_path / "specs"
    spec = squares_spec(root, "bigup", tasks=1, sleep=0.01)
    (root / "big.bin").write_bytes(os.urandom(12 * 1024 * 1024))
    text = spec.read_text().replace("containers:\n", 'containers:\n  in: {name: "bigup-in"}\n', 1)
    spec.write_text(text + "uploads: [{source: big.bin, container: in}]\n")
    home = tmp_path / "home"
    env = azure_env(batch_service, azurite) | storage_env(azurite, storage_proxy)
    blob = r"^/[^/]+/bigup-in/big\.bin$"
    # Its blocks never get an answer: the upload is in flight when Ctrl-C comes.
    storage_proxy.add("PUT", blob, "hang", times=None)
    proc = start_apply(spec, home, env)
    wait_for(storage_proxy, "PUT", blob, proc)
    sent = time.monotonic()
    proc.send_signal(signal.SIGINT)
    output, _ = proc.communicate(timeout=30)  # the hung request would hold it for minutes
    stopped = time.monotonic() - sent
    secret_check.add("interrupted upload", output)
    assert proc.returncode == 130, output
    assert "error: interrupted" in output
    print(f"Ctrl-C during an upload: apply exited {stopped:.2f}s after the signal")
    blobs = BlobServiceClient.from_connection_string(azurite.connection_string)
    assert not blobs.get_blob_client("bigup-in", "big.bin").exists()

    storage_proxy.clear()
    again = apply_cli(
        [str(spec), "--yes", "--target", "azure", "--data-dir", str(home)], secret_check, env
    )
    assert again.exit_code == 0, again.output
    assert "continuing run" in again.output
    assert f"uploads: 1 file(s) sent ({12 * 1024 * 1024} bytes)" in again.output


@pytest.mark.parametrize("fault", ["hang", "drop"], ids=["frozen", "killed"])
def test_storage_that_stops_answering_during_downloads_ends_the_run_and_a_rerun_fetches_them(
    tmp_path: Path,
    fault: Any,
    storage_proxy: FaultProxy,
    batch_service: Any,
    azurite: Any,
    secret_check: SecretCheck,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Short client limits, so that the test does not sit out the real ones (tens of seconds).
    from azure.storage.blob import LinearRetry

    quick = {"read_timeout": 2, "retry_policy": LinearRetry(backoff=0.2, retry_total=1)}
    monkeypatch.setattr(targets, "BLOB_CLIENT_OPTIONS", targets.BLOB_CLIENT_OPTIONS | quick)
    prefix = f"dl{fault}"
    spec = squares_spec(tmp_path / "specs", prefix, tasks=2, sleep=0.01)
    home = tmp_path / "home"
    env = azure_env(batch_service, azurite) | storage_env(azurite, storage_proxy)
    args = [str(spec), "--yes", "--target", "azure", "--data-dir", str(home)]
    storage_proxy.add("GET", rf"^/[^/]+/{prefix}-out/.+", fault, times=None)
    stopped = apply_cli(args, secret_check, env)
    assert stopped.exit_code == 1, stopped.output
    assert "error: downloads stopped: " in stopped.output
    assert "run apply again to fetch them" in stopped.output
    assert "Traceback" not in stopped.output
    assert not (tmp_path / "specs" / "out").exists() or not any(
        p.name.endswith(".txt") for p in (tmp_path / "specs" / "out").iterdir()
    )

    storage_proxy.clear()
    again = apply_cli(args, secret_check, env)
    assert again.exit_code == 0, again.output
    assert "continuing run" in again.output
    assert "downloads: 2 file(s) written" in again.output
