"""apply off the happy path, end to end on the session's Batch service and Azurite: it deletes
only what a run of the spec created, stops at once when failed tasks block the rest, notices a
changed upload, and refuses bad input the way validate does."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest
from azure.batch import BatchClient
from azure.storage.blob import BlobServiceClient
from click.testing import CliRunner

from batchspec.cli import main

from .conftest import SecretCheck, azure_env
from .test_apply_command import apply_cli

pytestmark = pytest.mark.timeout(180)

POOL = """\
pool:
  id: PREFIX-pool
  vm_size: standard_d2s_v3
  nodes: {dedicated: 1}
  task_slots_per_node: 4
  image: {publisher: canonical, offer: ubuntu-24_04-lts, sku: server,
          node_agent: batch.node.ubuntu 24.04}
"""


def write_spec(
    root: Path, prefix: str, body: str, *, name: str = "spec", pool: str | None = None
) -> Path:
    """A spec named `name` whose PREFIX placeholders (ids, names) become `prefix`."""
    root.mkdir(parents=True, exist_ok=True)
    path = root / f"{name}.yaml"
    pool_text = POOL.replace("PREFIX-pool", pool) if pool else POOL
    text = f"batchspec: 1\nname: {prefix}\n" + pool_text + textwrap.dedent(body)
    path.write_text(text.replace("PREFIX", prefix))
    return path


def args_for(spec: Path, home: Path, *more: str) -> list[str]:
    return [str(spec), "--yes", "--target", "azure", "--data-dir", str(home), *more]


@pytest.fixture
def blobs(azurite: Any) -> BlobServiceClient:
    return BlobServiceClient.from_connection_string(azurite.connection_string)


def test_a_container_that_held_data_survives_containers_delete(
    tmp_path: Path,
    batch_service: Any,
    azurite: Any,
    blobs: BlobServiceClient,
    secret_check: SecretCheck,
) -> None:
    blobs.create_container("precious-data").upload_blob("keep.txt", b"years of work")
    spec = write_spec(
        tmp_path / "specs",
        "owned",
        """\
        containers:
          data: {name: precious-data}
          out: {name: owned-out}
        job:
          id: "owned-{{ run.id }}"
          tasks:
            - id: one
              command: /bin/sh -c "echo done > one.txt"
              outputs: [{pattern: one.txt, container: out}]
        downloads: [{container: out, to: out}]
        cleanup: {containers: delete, job: delete, pool: keep}
        """,
    )
    result = apply_cli(
        args_for(spec, tmp_path / "home"), secret_check, azure_env(batch_service, azurite)
    )
    assert result.exit_code == 0, result.output
    assert "container precious-data: found (it existed before this run" in result.output
    assert "container owned-out: created" in result.output
    assert "kept: container precious-data existed before this run (not made by batchspec)" in (
        result.output
    )
    assert "clean-up: container owned-out deleted" in result.output
    data = blobs.get_container_client("precious-data")
    assert data.download_blob("keep.txt").readall() == b"years of work"
    assert not blobs.get_container_client("owned-out").exists()
    assert (tmp_path / "specs" / "out" / "one.txt").read_text() == "done\n"


def test_a_pool_another_spec_made_is_reused_and_survives_pool_delete(
    tmp_path: Path,
    batch_service: Any,
    azurite: Any,
    batch_client: BatchClient,
    secret_check: SecretCheck,
) -> None:
    env = azure_env(batch_service, azurite)
    body = """\
        containers:
          out: {name: PREFIX-out}
        job:
          id: "PREFIX-{{ run.id }}"
          tasks:
            - {id: one, command: /bin/true}
        cleanup: {containers: delete, job: delete, pool: POLICY}
        """
    a = write_spec(tmp_path / "a", "spec-a", body.replace("POLICY", "keep"), pool="shared-pool")
    b = write_spec(tmp_path / "b", "spec-b", body.replace("POLICY", "delete"), pool="shared-pool")
    first = apply_cli(args_for(a, tmp_path / "home"), secret_check, env)
    assert first.exit_code == 0, first.output
    assert "pool shared-pool: created" in first.output
    second = apply_cli(args_for(b, tmp_path / "home"), secret_check, env)
    assert second.exit_code == 0, second.output
    assert "pool shared-pool: found (made by run " in second.output
    assert f"from {a.resolve()}" not in second.output  # host:path, the host first
    assert f":{a.resolve()}; never deleted by this spec" in second.output
    assert "kept: pool shared-pool existed before this run (made by run " in second.output
    assert batch_client.get_pool("shared-pool").id == "shared-pool"


def test_a_failed_dependency_stops_the_wait_at_once_and_names_the_blocked_task(
    tmp_path: Path,
    batch_service: Any,
    azurite: Any,
    batch_client: BatchClient,
    secret_check: SecretCheck,
) -> None:
    spec = write_spec(
        tmp_path / "specs",
        "blocked",
        """\
        containers:
          out: {name: blocked-out}
        job:
          id: "blocked-{{ run.id }}"
          tasks:
            - id: first
              command: /bin/sh -c "echo first broke >&2; exit 3"
            - id: second
              depends_on: [first]
              command: /bin/true
        cleanup: {containers: delete, job: delete, pool: keep}
        """,
    )
    result = apply_cli(
        args_for(spec, tmp_path / "home"), secret_check, azure_env(batch_service, azurite)
    )
    assert result.exit_code == 1, result.output
    out = result.output
    assert "1 task(s) can never run: a task they depend on failed (first)" in out
    assert "task first failed: exit code 3" in out
    assert "first broke" in out
    assert "blocked: 1 task(s) will never run, because a task they depend on failed: second" in out
    assert out.index("first broke") < out.index("blocked: 1 task(s)")
    # After a failure the job is kept (the default on_failure policy), with its logs.
    job_id = next(j.id for j in batch_client.list_jobs(filter="startswith(id, 'blocked-')"))
    assert {t.id for t in batch_client.list_tasks(job_id)} == {"first", "second"}
    assert f"clean-up: job {job_id} kept (terminated)" in out


def test_a_failed_task_without_stderr_is_reported_without_a_traceback(
    tmp_path: Path,
    batch_service: Any,
    azurite: Any,
    secret_check: SecretCheck,
) -> None:
    spec = write_spec(
        tmp_path / "specs",
        "nofile",
        """\
        containers:
          in: {name: nofile-in}
        job:
          id: "nofile-{{ run.id }}"
          tasks:
            - id: lonely
              command: /bin/true
              resource_files: [{container: in, blob: missing.txt}]
        """,
    )
    result = apply_cli(
        args_for(spec, tmp_path / "home"), secret_check, azure_env(batch_service, azurite)
    )
    assert result.exit_code == 1, result.output
    assert "task lonely failed: " in result.output
    assert "Traceback" not in result.output
    assert "(not available: " in result.output


def test_an_edited_upload_makes_a_new_run_whose_output_replaces_the_old_download(
    tmp_path: Path,
    batch_service: Any,
    azurite: Any,
    secret_check: SecretCheck,
) -> None:
    env = azure_env(batch_service, azurite)
    root = tmp_path / "specs"
    (root / "app").mkdir(parents=True)
    script = root / "app" / "make.sh"
    script.write_text("echo v1 > result.txt\n")
    spec = write_spec(
        root,
        "edited",
        """\
        containers:
          app: {name: edited-app}
          out: {name: edited-out}
        uploads: [{source: app/make.sh, container: app}]
        job:
          id: "edited-{{ run.id }}"
          tasks:
            - id: make
              command: /bin/sh make.sh
              resource_files: [{container: app, blob: make.sh}]
              outputs: [{pattern: result.txt, container: out, path: "{{ run.id }}/result.txt"}]
        downloads: [{container: out, to: out, prefix: "{{ run.id }}/"}]
        cleanup: {containers: keep, job: delete, pool: keep}
        """,
    )
    home = tmp_path / "home"
    first = apply_cli(args_for(spec, home), secret_check, env)
    assert first.exit_code == 0, first.output
    result = root / "out" / "result.txt"
    assert result.read_text() == "v1\n"
    run_one = first.output.split("run ", 1)[1].split(" ", 1)[0]

    script.write_text("echo v2 > result.txt\n")
    plan = CliRunner().invoke(
        main, ["plan", str(spec), "--target", "azure", "--data-dir", str(home)], env=env
    )
    assert plan.exit_code == 0, plan.output
    assert f"changed since run {run_one}: app/make.sh" in plan.stderr

    second = apply_cli(args_for(spec, home), secret_check, env)
    assert second.exit_code == 0, second.output
    assert f"changed since run {run_one}: app/make.sh" in second.output
    assert "uploads: 1 file(s) sent" in second.output
    assert result.read_text() == "v2\n"

    # A file batchspec did not write is kept, and said so.
    result.write_text("my own notes\n")
    script.write_text("echo v3 > result.txt\n")
    third = apply_cli(args_for(spec, home), secret_check, env)
    assert third.exit_code == 1, third.output
    assert f"{result} exists with other content; kept" in third.output
    assert result.read_text() == "my own notes\n"


def test_apply_refuses_a_malformed_var_and_redacts_a_signature_like_plan(
    tmp_path: Path, secret_check: SecretCheck
) -> None:
    spec = write_spec(
        tmp_path / "specs",
        "vars",
        """\
        vars: {num_words: 3}
        containers:
          out: {name: vars-out}
        job:
          id: "vars-{{ run.id }}"
          tasks:
            - {id: one, command: "echo {{ vars.num_words }}"}
        """,
    )
    home = tmp_path / "home"
    for var in (" num_words =5", "num_words"):
        refused = apply_cli(args_for(spec, home, "--var", var), secret_check)
        planned = CliRunner().invoke(main, ["plan", str(spec), "--var", var])
        assert refused.exit_code == planned.exit_code == 2
        assert refused.stderr == planned.stderr
    secret = "num_words=https://a/c?sig=SECRETSIGNATURE"
    signed = apply_cli(args_for(spec, home, "--var", secret), secret_check)
    planned = CliRunner().invoke(main, ["plan", str(spec), "--var", secret])
    assert signed.exit_code == planned.exit_code == 2, signed.output
    assert "SECRETSIGNATURE" not in signed.output
    assert signed.stderr.splitlines()[:-1] == planned.stderr.splitlines()[:-1]
    assert not home.exists()


def test_a_job_that_another_checkout_owns_is_not_taken_over(
    tmp_path: Path,
    batch_service: Any,
    azurite: Any,
    batch_client: BatchClient,
    secret_check: SecretCheck,
) -> None:
    env = azure_env(batch_service, azurite)
    body = """\
        containers:
          out: {name: twins-out}
        job:
          id: "twins-{{ run.id }}"
          tasks:
            - {id: one, command: /bin/true}
        cleanup: {containers: keep, job: keep, pool: keep}
        """
    first = write_spec(tmp_path / "one", "twins", body)
    other = write_spec(tmp_path / "two", "twins", body)
    assert first.read_bytes() == other.read_bytes()
    home = tmp_path / "home"
    done = apply_cli(args_for(first, home), secret_check, env)
    assert done.exit_code == 0, done.output
    job_id = next(j.id for j in batch_client.list_jobs(filter="startswith(id, 'twins-')"))

    refused = apply_cli(args_for(other, home), secret_check, env)
    assert refused.exit_code == 1, refused.output
    assert f"job {job_id} belongs to another apply of the same spec content" in refused.output
    assert f":{first.resolve()})" in refused.output  # whose it is: host and path
    assert "--rerun" in refused.output
    assert "container twins-out: found (made by run" in refused.output
    # Its own run, with --rerun, gets its own job and leaves the other one alone.
    own = apply_cli(args_for(other, home, "--rerun"), secret_check, env)
    assert own.exit_code == 0, own.output
    assert batch_client.get_job(job_id).id == job_id
