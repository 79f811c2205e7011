"""`batchspec local up|status|down` and the local target, with real services in a tmp home."""

from __future__ import annotations

import json
import os
import socket
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from batchspec.cli import main
from batchspec.emulator.api.auth import DEFAULT_KEY
from batchspec.local import data_home
from batchspec.local import services as services_module
from batchspec.local.processes import pid_alive, port_open
from batchspec.local.services import AZURITE_KEY, ensure_running, status, stop
from batchspec.redact import redact
from batchspec.targets import ConfigError, resolve_target

pytestmark = pytest.mark.timeout(180)


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


@pytest.fixture
def home(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "home"
    try:
        yield path
    finally:
        stop(path)


def pids(home: Path) -> dict[str, int]:
    state = json.loads((home / "local" / "services.json").read_text())
    return {name: entry["pid"] for name, entry in state.items()}


def test_up_status_down_and_up_again_on_the_same_ports_with_the_data_kept(home: Path) -> None:
    code, out = run("local", "up", "--data-dir", str(home))
    assert code == 0, out
    assert "batch    http://127.0.0.1:" in out
    assert "storage  http://127.0.0.1:" in out
    assert AZURITE_KEY not in out
    first = pids(home)
    assert all(pid_alive(pid) for pid in first.values())

    target = resolve_target("local", home)
    blobs = target.blob_service()
    batch = target.batch_client()
    try:
        blobs.create_container("kept-across-restarts")
        assert list(batch.list_pools()) == []
    finally:
        blobs.close()
        batch.close()

    # A second up (and the target) reuse the running services.
    assert run("local", "up", "--data-dir", str(home))[0] == 0
    assert pids(home) == first

    code, out = run("local", "logs", "azurite", "--data-dir", str(home))
    assert code == 0, out
    assert "Azurite Blob service successfully listens on http://127.0.0.1:" in out
    assert "== " + str(home / "local" / "logs" / "azurite.log") in out
    assert "emulator.log" not in out
    code, out = run("local", "logs", "--data-dir", str(home))
    assert code == 0, out
    assert "emulator.log" in out
    assert DEFAULT_KEY not in out
    assert AZURITE_KEY not in out

    code, out = run("local", "status", "--data-dir", str(home))
    assert code == 0, out
    assert f"pid {first['emulator']}" in out
    assert f"pid {first['azurite']}" in out
    assert f"data     {home / 'local'}" in out
    assert "Key" not in out

    before = ensure_running(home)
    code, out = run("local", "down", "--data-dir", str(home))
    assert (code, out.strip()) == (0, "stopped: emulator, azurite")
    assert not any(pid_alive(pid) for pid in first.values())
    code, out = run("local", "status", "--data-dir", str(home))
    assert code == 3
    assert "emulator stopped" in out
    assert run("local", "down", "--data-dir", str(home))[1].strip() == "nothing was running"

    after = ensure_running(home)
    assert (after.batch_endpoint, after.blob_endpoint) == (
        before.batch_endpoint,
        before.blob_endpoint,
    )
    blobs = resolve_target("local", home).blob_service()
    try:
        assert [c.name for c in blobs.list_containers()] == ["kept-across-restarts"]
    finally:
        blobs.close()


def test_a_dead_service_is_started_again_on_a_new_port_when_its_old_one_is_taken(
    home: Path,
) -> None:
    first = ensure_running(home)
    azurite_pid = pids(home)["azurite"]
    os.killpg(azurite_pid, 9)
    port = int(first.blob_endpoint.split(":")[2].split("/")[0])
    # Something else takes Azurite's old port while it is down.
    # Azurite runs behind its log relay, in the same process group: both must be gone.
    deadline = time.monotonic() + 20
    while (pid_alive(azurite_pid) or port_open(port)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not port_open(port), "Azurite did not exit after SIGKILL"
    squatter = socket.socket()
    try:
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        squatter.bind(("127.0.0.1", port))
        squatter.listen()
        second = ensure_running(home)
    finally:
        squatter.close()
    assert second.batch_endpoint == first.batch_endpoint
    assert second.blob_endpoint != first.blob_endpoint
    assert pids(home)["azurite"] != azurite_pid
    new_port = int(second.blob_endpoint.split(":")[2].split("/")[0])
    assert port_open(new_port)


def test_a_service_alive_but_not_answering_is_replaced_not_duplicated(home: Path) -> None:
    ensure_running(home)
    state_path = home / "local" / "services.json"
    state = json.loads(state_path.read_text())
    old_pid = state["emulator"]["pid"]
    # As if the emulator stopped answering on its port: its record points at a closed one.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        state["emulator"]["port"] = probe.getsockname()[1]
    state_path.write_text(json.dumps(state))
    ensure_running(home)
    assert not pid_alive(old_pid)
    assert pids(home)["emulator"] != old_pid
    assert pid_alive(pids(home)["emulator"])


def test_missing_azurite_is_a_one_line_error_that_says_to_install_it(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.setattr(services_module, "CHECKOUT", tmp_path / "no-checkout")
    with pytest.raises(ConfigError) as caught:
        ensure_running(home)
    assert str(caught.value) == (
        "Azurite is not installed: run `batchspec local install` (it needs Node.js 20 or later "
        "with npm)"
    )
    # Nothing was started before the check.
    assert not (home / "local" / "services.json").exists() or pids(home) == {}
    code, out = run("local", "up", "--data-dir", str(home))
    assert code == 1
    assert out.strip() == f"Error: {caught.value}"


def test_an_unusable_data_directory_is_a_one_line_error(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    code, out = run("local", "up", "--data-dir", str(blocker))
    assert code == 1
    assert out.startswith(f"Error: cannot use the data directory {blocker} for the local services")
    assert out.strip().endswith("(choose another with --data-dir or BATCHSPEC_HOME)")
    assert len(out.strip().splitlines()) == 1
    code, out = run("local", "down", "--data-dir", str(blocker))
    assert code == 1
    assert "Traceback" not in out


def test_status_of_a_fresh_home_shows_both_stopped(tmp_path: Path) -> None:
    state = status(tmp_path / "fresh")
    assert [(s.name, s.running) for s in state.services] == [
        ("emulator", False),
        ("azurite", False),
    ]


def test_local_target_keeps_keys_and_signatures_out_of_output_and_logs(home: Path) -> None:
    target = resolve_target("local", home)
    assert target.name == "local"
    assert redact(f"key={AZURITE_KEY}") == "key=REDACTED"
    assert target.batch_key is not None
    assert redact(target.batch_key) == "REDACTED"
    assert "shared key" in target.describe()

    blobs = target.blob_service()
    try:
        blobs.create_container("logged")
        blobs.get_blob_client("logged", "a.txt").upload_blob(b"data")
    finally:
        blobs.close()
    url = target.sas(datetime.now(UTC) + timedelta(minutes=5)).blob_url("logged", "a.txt")
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.read() == b"data"
    signature = url.split("sig=")[1]
    for log in (home / "local" / "logs").glob("*.log"):
        text = log.read_text()
        assert signature not in text
        assert "sig=" not in text
        assert AZURITE_KEY not in text


def test_data_home_prefers_the_option_then_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BATCHSPEC_HOME", str(tmp_path / "env"))
    assert data_home(tmp_path / "opt") == tmp_path / "opt"
    assert data_home() == tmp_path / "env"
    monkeypatch.delenv("BATCHSPEC_HOME")
    assert data_home() == Path.home() / ".batchspec"
