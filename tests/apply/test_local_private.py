"""The local target on a shared machine: its keys are its own, its files its owner's, and a
recorded pid is trusted only while it is the process that was started."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from batchspec.cli import main
from batchspec.emulator.api.auth import DEFAULT_ACCOUNT, DEFAULT_KEY
from batchspec.local.keys import existing_keys
from batchspec.local.processes import pid_alive, started_at
from batchspec.local.services import AZURITE_ACCOUNT, AZURITE_KEY, stop
from batchspec.targets import resolve_target

pytestmark = pytest.mark.timeout(240)

NOBODY = 65534


@pytest.fixture
def home() -> Iterator[Path]:
    """A data directory whose parent every user may enter, as a shared /tmp or /home is."""
    base = Path(tempfile.mkdtemp(prefix="batchspec-shared-"))
    base.chmod(0o755)
    path = base / "home"
    try:
        yield path
    finally:
        stop(path)
        shutil.rmtree(base, ignore_errors=True)


def _as_nobody(program: str, *args: str) -> dict[str, object]:
    """Run `program` as an unprivileged user; it prints one JSON object."""
    # util-linux's setpriv (in every Debian) rather than subprocess's user=: it also runs an
    # interpreter installed under a directory the other user may not list.
    switch = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]
    done = subprocess.run(
        [*switch, sys.executable, "-c", textwrap.dedent(program), *args],
        env={"PATH": os.environ.get("PATH", ""), "HOME": "/nonexistent"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout)
    return result


INTRUDER = """
    import json, os, sys
    from azure.batch import BatchClient
    from azure.core.credentials import AzureNamedKeyCredential
    from azure.core.exceptions import HttpResponseError
    from azure.storage.blob import BlobServiceClient

    batch_endpoint, blob_endpoint, batch_account, batch_key, storage_account, storage_key = (
        sys.argv[1:7]
    )
    out = {"uid": os.getuid(), "read": {}}
    for path in sys.argv[7:]:
        try:
            if os.path.isdir(path):
                os.listdir(path)
            else:
                open(path, "rb").close()
            out["read"][path] = "read"
        except PermissionError:
            out["read"][path] = "denied"
    batch = BatchClient(batch_endpoint, AzureNamedKeyCredential(batch_account, batch_key))
    try:
        list(batch.list_pools())
        out["batch"] = 200
    except HttpResponseError as exc:
        out["batch"] = exc.status_code
    blobs = BlobServiceClient(
        blob_endpoint, credential={"account_name": storage_account, "account_key": storage_key}
    )
    try:
        list(blobs.list_containers())
        out["storage"] = 200
    except HttpResponseError as exc:
        out["storage"] = exc.status_code
    print(json.dumps(out))
"""


@pytest.mark.skipif(os.geteuid() != 0, reason="switching to another uid needs root (as in CI)")
def test_another_user_can_neither_authenticate_nor_read_the_data(home: Path) -> None:
    result = CliRunner().invoke(main, ["local", "up", "--data-dir", str(home)])
    assert result.exit_code == 0, result.output
    target = resolve_target("local", home)
    keys = existing_keys(home / "local")
    assert keys is not None and keys.batch_key != DEFAULT_KEY and keys.storage_key != AZURITE_KEY
    # The owner's clients work with the data directory's keys...
    blobs = target.blob_service()
    try:
        blobs.create_container("private")
    finally:
        blobs.close()
    batch = target.batch_client()
    try:
        assert list(batch.list_pools()) == []
    finally:
        batch.close()
    local = home / "local"
    paths = [home, local, local / "keys.json", local / "services.json"]
    paths += sorted(local.glob("logs/*.log")) + sorted(local.rglob("*.sqlite3"))
    endpoints = [target.batch_endpoint, target.storage.blob_endpoint]
    # ...while another user, who knows only the public development keys, gets nowhere.
    found = _as_nobody(
        INTRUDER,
        *endpoints,
        DEFAULT_ACCOUNT,
        DEFAULT_KEY,
        AZURITE_ACCOUNT,
        AZURITE_KEY,
        *map(str, paths),
    )
    assert found["uid"] == NOBODY
    assert found["read"] == {str(p): "denied" for p in paths}
    assert found["batch"] in (401, 403) and found["storage"] in (401, 403)
    # The keys do not reach other users through the services' command lines either.
    for entry in json.loads((local / "services.json").read_text()).values():
        cmdline = Path(f"/proc/{entry['pid']}/cmdline").read_bytes().decode()
        assert keys.batch_key not in cmdline and keys.storage_key not in cmdline


def test_nothing_the_local_services_write_is_readable_by_others(home: Path) -> None:
    result = CliRunner().invoke(main, ["local", "up", "--data-dir", str(home)])
    assert result.exit_code == 0, result.output
    target = resolve_target("local", home)
    blobs = target.blob_service()
    try:
        blobs.create_container("written")
        blobs.get_blob_client("written", "a.txt").upload_blob(b"data")
    finally:
        blobs.close()
    open_to_others = [
        str(path)
        for path in [home, *home.rglob("*")]
        if not path.is_symlink() and stat.S_IMODE(path.stat().st_mode) & 0o077
    ]
    assert open_to_others == []
    assert stat.S_IMODE((home / "local" / "keys.json").stat().st_mode) == 0o600
    assert stat.S_IMODE((home / "local").stat().st_mode) == 0o700


def test_a_recorded_pid_now_held_by_another_process_is_left_alone(home: Path) -> None:
    # A process that reuses a service's pid, even one whose command line says "batchspec",
    # is not the service: `local down` must not kill it.
    other = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(60)", "notes-about-batchspec.txt"]
    )
    try:
        local = home / "local"
        local.mkdir(parents=True)
        started = started_at(other.pid)
        assert started is not None
        state = {
            "emulator": {"pid": other.pid, "started": started - 5.0, "port": 1},
            "azurite": {"pid": other.pid, "port": 1},
        }
        (local / "services.json").write_text(json.dumps(state))
        result = CliRunner().invoke(main, ["local", "down", "--data-dir", str(home)])
        assert result.exit_code == 0, result.output
        assert result.output == "nothing was running\n"
        assert pid_alive(other.pid)
        assert other.poll() is None
    finally:
        other.kill()
        other.wait()
