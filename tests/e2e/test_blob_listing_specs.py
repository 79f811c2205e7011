"""specs/scans.yaml for real: blobs put into Azurite with the SDK (data already in storage),
then `batchspec apply` lists them, runs one task per matching blob on the local Batch service
and downloads one output per blob; a blob added later makes the next apply a new run."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import socket
import uuid
from pathlib import Path
from typing import Any

import pytest
from azure.storage.blob import BlobServiceClient
from click.testing import CliRunner, Result

from batchspec.cli import main

from .conftest import SecretCheck, azure_env

SPECS = Path(__file__).resolve().parents[2] / "specs"

pytestmark = pytest.mark.timeout(300)

SCANS = {
    "scans/a.tif": b"scan a\n" * 100,
    "scans/b.tif": b"scan b, a longer one\n" * 300,
    "scans/notes.txt": b"not a scan",
    "elsewhere/c.tif": b"outside the prefix",
}


def _spec(tmp_path: Path) -> Path:
    copy = tmp_path / "specs"
    copy.mkdir()
    shutil.copy(SPECS / "scans.yaml", copy / "scans.yaml")
    return copy / "scans.yaml"


def _cli(
    check: SecretCheck, env: dict[str, str], home: Path, *args: str, exit_code: int | None = 0
) -> Result:
    result = CliRunner().invoke(
        main, [*args, "--data-dir", str(home)], env=env, catch_exceptions=False
    )
    check.add(" ".join(args[:2]), result.output)
    if exit_code is not None:
        assert result.exit_code == exit_code, result.output
    return result


def _put(service: BlobServiceClient, container: str, blobs: dict[str, bytes]) -> None:
    client = service.get_container_client(container)
    if not client.exists():
        client.create_container()
    for name, data in blobs.items():
        client.upload_blob(name, data, overwrite=True)


def _expected(name: str) -> str:
    data = SCANS.get(name) or LATER[name]
    return f"{hashlib.sha256(data).hexdigest()}  {name}\n{len(data)}\n"


LATER = {"scans/c.tif": b"a scan added after the first run\n"}


def test_scans_makes_one_task_per_stored_blob_and_a_new_blob_a_new_run(
    tmp_path: Path,
    batch_service: Any,
    azurite: Any,
    batch_client: Any,
    secret_check: SecretCheck,
) -> None:
    spec = _spec(tmp_path)
    home = tmp_path / "home"
    env = azure_env(batch_service, azurite)
    data = f"scans-{uuid.uuid4().hex[:10]}"
    service = BlobServiceClient.from_connection_string(azurite.connection_string)
    _put(service, data, SCANS)
    var = ("--var", f"data={data}")

    # Offline, plan says where the tasks come from and lists nothing.
    offline = _cli(secret_check, env, home, "plan", str(spec), *var)
    assert f"one task per blob in {data} (prefix 'scans/', match '*.tif')" in offline.stdout
    assert "Tasks (0)" in offline.stdout

    first = _cli(secret_check, env, home, "apply", str(spec), "--yes", *var).output
    assert f"listed 2 blob(s) in {data} (prefix 'scans/', match '*.tif'): tasks " in first
    assert "scan-a, scan-b" in first
    out = spec.parent / "out" / "scans"
    assert sorted(p.name for p in out.iterdir()) == ["a.sha256", "b.sha256"]
    assert (out / "a.sha256").read_text() == _expected("scans/a.tif")
    assert (out / "b.sha256").read_text() == _expected("scans/b.tif")
    job_id = re.search(r"job (scans-[0-9a-f]{8}): created", first)
    assert job_id is not None, first
    # The container the blobs were listed from was found, not created: clean-up kept it.
    assert f"container {data}" in first
    names = {b.name for b in service.get_container_client(data).list_blobs()}
    assert names == set(SCANS)

    # An unchanged listing: the run is the same one, and it finished.
    again = _cli(secret_check, env, home, "apply", str(spec), "--yes", *var).output
    assert "finished" in again and "nothing to do" in again

    # A blob added since: plan --refresh lists it, and names a new run.
    _put(service, data, LATER)
    refreshed = _cli(secret_check, env, home, "plan", str(spec), "--refresh", *var).stdout
    assert "a new run" in refreshed
    assert "listed 3 blob(s)" in refreshed and "scan-a, scan-b, scan-c" in refreshed
    document = json.loads(
        _cli(
            secret_check, env, home, "plan", str(spec), "--refresh", "--format", "json", *var
        ).stdout
    )
    (listing,) = document["listings"]
    assert (listing["count"], listing["first_ids"]) == (3, ["scan-a", "scan-b", "scan-c"])

    second = _cli(secret_check, env, home, "apply", str(spec), "--yes", *var).output
    assert "changed since run" in second and f"blobs listed in {data}" in second
    second_job = re.search(r"job (scans-[0-9a-f]{8}): created", second)
    assert second_job is not None and second_job.group(1) != job_id.group(1), second
    assert (out / "c.sha256").read_text() == _expected("scans/c.tif")
    assert sorted(p.name for p in out.iterdir()) == ["a.sha256", "b.sha256", "c.sha256"]
    assert "3 succeeded" in second, second
    # The day-two verbs find that run: they list as apply did.
    status = _cli(secret_check, env, home, "status", str(spec), *var).stdout
    assert second_job.group(1) in status, status
    service.delete_container(data)
    service.close()


def test_a_listing_with_nothing_to_run_or_no_container_creates_nothing(
    tmp_path: Path,
    batch_service: Any,
    azurite: Any,
    batch_client: Any,
    secret_check: SecretCheck,
) -> None:
    spec = _spec(tmp_path)
    home = tmp_path / "home"
    env = azure_env(batch_service, azurite)
    data = f"scans-{uuid.uuid4().hex[:10]}"
    service = BlobServiceClient.from_connection_string(azurite.connection_string)
    containers_before = {c.name for c in service.list_containers()}
    jobs_before = {j.id for j in batch_client.list_jobs()}

    missing = _cli(
        secret_check, env, home, "apply", str(spec), "--yes", "--var", f"data={data}", exit_code=2
    )
    assert (
        f"$.job.tasks[0].foreach.blobs.container: container {data!r} (scans) does not exist"
        in missing.output
    )
    _put(service, data, {"scans/only.txt": b"no scan here"})
    empty = _cli(
        secret_check, env, home, "apply", str(spec), "--yes", "--var", f"data={data}", exit_code=2
    )
    line = next(x for x in empty.output.splitlines() if "$.job.tasks[0].foreach.blobs:" in x)
    assert re.match(r"^.*scans\.yaml:\d+:\d+: \$\.job\.tasks\[0\]\.foreach\.blobs: no blob", line)
    assert "1 blob(s) under the prefix, none matching" in line
    assert "nothing was created" in empty.output
    # plan --refresh refuses it the same way.
    _cli(
        secret_check,
        env,
        home,
        "plan",
        str(spec),
        "--refresh",
        "--var",
        f"data={data}",
        exit_code=2,
    )
    assert {c.name for c in service.list_containers()} == containers_before | {data}
    assert {j.id for j in batch_client.list_jobs()} == jobs_before
    service.delete_container(data)
    service.close()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def test_plan_refresh_without_storage_says_so_and_exits_0(
    tmp_path: Path, batch_service: Any, azurite: Any, secret_check: SecretCheck
) -> None:
    spec = _spec(tmp_path)
    home = tmp_path / "home"
    env = azure_env(batch_service, azurite)
    endpoint = f"http://127.0.0.1:{_closed_port()}/devstoreaccount1"
    env["AZURE_STORAGE_CONNECTION_STRING"] = re.sub(
        r"BlobEndpoint=[^;]+", f"BlobEndpoint={endpoint}", env["AZURE_STORAGE_CONNECTION_STRING"]
    )
    result = _cli(secret_check, env, home, "plan", str(spec), "--refresh")
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith("plan --refresh: could not list the blobs in scan-data")
    assert "storage cannot be reached" in result.stderr
    assert "Traceback" not in result.output
    assert "one task per blob in scan-data" in result.stdout
    detailed = _cli(
        secret_check, env, home, "plan", str(spec), "--refresh", "--detailed-exitcode", exit_code=1
    )
    assert "storage cannot be reached" in detailed.stderr
