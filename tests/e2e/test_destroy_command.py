"""`batchspec destroy` end to end: it deletes exactly what a run created, keeps a container that
existed before, continues after being stopped, and a second destroy is a no-op."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from azure.batch import BatchClient
from azure.core.exceptions import ResourceNotFoundError
from azure.storage.blob import BlobServiceClient

from batchspec.apply.journal import Journal
from batchspec.live import teardown

from .live_cli import Cli, blobs, cli
from .live_specs import write_spec

__all__ = ["blobs", "cli"]  # fixtures
pytestmark = pytest.mark.timeout(300)

KEEPER = """\
containers:
  data: {name: PREFIX-precious}
  out: {name: PREFIX-out}
job:
  id: "PREFIX-{{ run.id }}"
  tasks:
    - {id: one, command: /bin/true}
cleanup: {containers: keep, job: keep, pool: keep}
"""


def _gone(fetch: object) -> bool:
    try:
        fetch()  # type: ignore[operator]
    except ResourceNotFoundError:
        return True
    return False


def _pool_going(batch: BatchClient, pool_id: str) -> bool:
    try:
        return batch.get_pool(pool_id).state == "deleting"
    except ResourceNotFoundError:
        return True


def test_destroy_deletes_what_the_run_created_and_keeps_what_was_there(
    tmp_path: Path, cli: Cli, batch_client: BatchClient, blobs: BlobServiceClient
) -> None:
    precious = blobs.create_container("dsone-precious")
    precious.upload_blob("keep.txt", b"years of work")
    spec = write_spec(tmp_path, "dsone", KEEPER)
    assert cli("apply", str(spec), "--yes").exit_code == 0
    state = Journal(cli.home, spec, "azure").load()
    assert state is not None
    job_id = state.job_id

    dry = cli("destroy", str(spec), "--dry-run", "--format", "json")
    assert dry.exit_code == 0, dry.output
    items = [(i["kind"], i["name"], i["delete"]) for i in json.loads(dry.stdout)["items"]]
    assert items == [
        ("job", job_id, True),
        ("pool", "dsone-pool", True),
        ("container", "dsone-precious", False),
        ("container", "dsone-out", True),
    ]
    assert batch_client.get_job(job_id).id == job_id  # a dry run deletes nothing

    done = cli("destroy", str(spec))  # no terminal: no question
    assert done.exit_code == 0, done.output
    assert "keep container dsone-precious (it existed before: not made by batchspec)" in (
        done.stdout
    )
    assert f"deleted job {job_id}" in done.stdout
    assert "destroyed: 3 deleted, 1 kept" in done.stdout
    assert _gone(lambda: batch_client.get_job(job_id))
    assert _pool_going(batch_client, "dsone-pool")
    assert _gone(lambda: blobs.get_container_client("dsone-out").get_container_properties())
    assert precious.download_blob("keep.txt").readall() == b"years of work"

    again = cli("destroy", str(spec), "--yes")
    assert again.exit_code == 0, again.output
    assert "delete " not in again.stdout
    assert "nothing to delete" in again.stderr
    assert precious.download_blob("keep.txt").readall() == b"years of work"
    assert cli("status", str(spec)).exit_code == 3


def test_a_stopped_destroy_continues_where_it_stopped(
    tmp_path: Path,
    cli: Cli,
    batch_client: BatchClient,
    blobs: BlobServiceClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    spec = write_spec(tmp_path, "dstwo", KEEPER)
    assert cli("apply", str(spec), "--yes").exit_code == 0
    real, calls = teardown.delete, []

    def stop_at_the_second(*args: object, **kwargs: object) -> None:
        calls.append(args[2])
        if len(calls) == 2:
            raise KeyboardInterrupt
        real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(teardown, "delete", stop_at_the_second)
    stopped = cli("destroy", str(spec), "--yes")
    assert stopped.exit_code == 130, stopped.output
    monkeypatch.setattr(teardown, "delete", real)

    survey = cli("destroy", str(spec), "--dry-run", "--format", "json")
    left = [(i["kind"], i["name"]) for i in json.loads(survey.stdout)["items"] if i["delete"]]
    # The job went before the stop; the rest is left, and journaled as left.
    assert left == [
        ("pool", "dstwo-pool"),
        ("container", "dstwo-precious"),
        ("container", "dstwo-out"),
    ]
    assert [i.kind for i in calls] == ["job", "pool"]  # type: ignore[attr-defined]
    finished = cli("destroy", str(spec), "--yes")
    assert finished.exit_code == 0, finished.output
    assert "destroyed: 3 deleted, 0 kept" in finished.stdout
    assert _pool_going(batch_client, "dstwo-pool")
    assert _gone(lambda: blobs.get_container_client("dstwo-out").get_container_properties())


def test_a_pool_another_spec_made_is_kept(
    tmp_path: Path, cli: Cli, batch_client: BatchClient
) -> None:
    maker = write_spec(tmp_path / "a", "dsmaker", KEEPER, pool="dsshared-pool")
    user = write_spec(tmp_path / "b", "dsuser", KEEPER, pool="dsshared-pool")
    assert cli("apply", str(maker), "--yes").exit_code == 0
    assert cli("apply", str(user), "--yes").exit_code == 0
    result = cli("destroy", str(user), "--yes")
    assert result.exit_code == 0, result.output
    assert "keep pool dsshared-pool (it existed before: made by run " in result.stdout
    assert batch_client.get_pool("dsshared-pool").state == "active"
