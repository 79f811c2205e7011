"""The container engine driver on this machine's real engine, images and registry."""

from __future__ import annotations

import asyncio
import subprocess
import uuid
from pathlib import Path

import pytest

from batchspec.emulator.engine.container_engines import INSTALL_HINT, NoEngine, find_engine
from batchspec.emulator.engine.containers import (
    ContainerRun,
    Credential,
    Engine,
    Mount,
    normalize_image,
    registry_of,
    run_container,
)

from .conftest import Registry
from .images import ImageSet

pytestmark = pytest.mark.timeout(180)


def test_image_names_are_completed_as_docker_pull_completes_them() -> None:
    assert normalize_image("python") == "docker.io/library/python:latest"
    assert normalize_image("python:3.12-slim") == "docker.io/library/python:3.12-slim"
    assert normalize_image("user/tool") == "docker.io/user/tool:latest"
    assert normalize_image("myacr.azurecr.io/team/tool:2") == "myacr.azurecr.io/team/tool:2"
    assert normalize_image("127.0.0.1:5000/tool") == "127.0.0.1:5000/tool:latest"
    assert normalize_image("localhost/tool@sha256:ab") == "localhost/tool@sha256:ab"
    assert registry_of("python") == "docker.io"
    assert registry_of("127.0.0.1:5000/tool:1") == "127.0.0.1:5000"


def test_no_engine_says_how_to_install_one(tmp_path: Path) -> None:
    off = find_engine({"BATCHSPEC_CONTAINER_ENGINE": "none"})
    assert isinstance(off, NoEngine)
    assert off.message() == (
        "container engines are turned off (BATCHSPEC_CONTAINER_ENGINE=none); " + INSTALL_HINT
    )
    missing = find_engine({"BATCHSPEC_CONTAINER_ENGINE": "no-such-engine", "PATH": str(tmp_path)})
    assert isinstance(missing, NoEngine)
    assert "no-such-engine is not a program on PATH" in missing.message()
    nothing = find_engine({"PATH": str(tmp_path)})
    assert isinstance(nothing, NoEngine)
    assert nothing.reason == "no container engine (docker or podman) was found on PATH"


def test_a_docker_client_without_a_daemon_is_passed_over(tmp_path: Path) -> None:
    # A `docker` whose `info` fails (no daemon) must not hide a working podman.
    fake = tmp_path / "docker"
    fake.write_text("#!/bin/sh\necho 'Cannot connect to the Docker daemon' >&2\nexit 1\n")
    fake.chmod(0o755)
    podman = subprocess.run(["sh", "-c", "command -v podman"], capture_output=True, text=True)
    path = f"{tmp_path}:{Path(podman.stdout.strip()).parent}"
    found = find_engine({"PATH": path, "BATCHSPEC_CONTAINER_RUNTIME": "runc"})
    assert isinstance(found, Engine), found
    assert found.kind == "podman"
    assert found.global_args == ("--runtime", "runc")


def _run(engine: Engine, run: ContainerRun, env: dict[str, str], root: Path, timeout: float | None):  # type: ignore[no-untyped-def]
    return asyncio.run(
        run_container(engine, run, env, root / "stdout.txt", root / "stderr.txt", timeout)
    )


def test_a_container_sees_its_mounts_environment_and_working_directory(
    engine: Engine, test_images: ImageSet, tmp_path: Path
) -> None:
    shared = tmp_path / "shared"
    wd = tmp_path / "task" / "wd"
    shared.mkdir()
    wd.mkdir(parents=True)
    (shared / "input.txt").write_text("from the node\n")
    run = ContainerRun(
        name=f"batchspec-test-{uuid.uuid4().hex[:8]}",
        image=test_images.python,
        argv=(
            "/bin/bash",
            "-c",
            "cat $AZ_BATCH_NODE_SHARED_DIR/input.txt; pwd; echo $AZ_BATCH_TASK_ID;"
            " python3 -c 'print(6 * 7)' > answer.txt; echo oops >&2; exit 3",
        ),
        env_names=("AZ_BATCH_NODE_SHARED_DIR", "AZ_BATCH_TASK_ID"),
        mounts=(Mount(shared, str(shared), read_only=True), Mount(wd, str(wd))),
        workdir=str(wd),
    )
    env = {"AZ_BATCH_NODE_SHARED_DIR": str(shared), "AZ_BATCH_TASK_ID": "task-1"}
    result = _run(engine, run, env, tmp_path, None)
    assert result.exit_code == 3
    assert (tmp_path / "stdout.txt").read_text() == f"from the node\n{wd}\ntask-1\n"
    assert (tmp_path / "stderr.txt").read_text() == "oops\n"
    assert (wd / "answer.txt").read_text() == "42\n"
    assert not _exists(engine, run.name)


def test_a_wall_clock_limit_kills_and_removes_the_container(
    engine: Engine, test_images: ImageSet, tmp_path: Path
) -> None:
    run = ContainerRun(
        name=f"batchspec-test-{uuid.uuid4().hex[:8]}",
        image=test_images.busybox,
        argv=("sleep", "600"),
        env_names=(),
        mounts=(),
        workdir=None,
    )
    result = _run(engine, run, {}, tmp_path, 2.0)
    assert result.timed_out
    assert result.exit_code is None
    assert not _exists(engine, run.name)


def test_a_missing_image_is_an_engine_error_not_an_exit_code(
    engine: Engine, tmp_path: Path
) -> None:
    image = f"localhost/batchspec-test/absent-{uuid.uuid4().hex[:8]}:1"
    assert not engine.has_image(image)
    run = ContainerRun(f"batchspec-test-{uuid.uuid4().hex[:8]}", image, ("true",), (), (), None)
    result = _run(engine, run, {}, tmp_path, None)
    assert result.exit_code is None
    assert result.engine_error is not None
    assert "absent-" in result.engine_error


def test_a_private_image_pulls_only_with_its_credentials(
    engine: Engine, registry: Registry
) -> None:
    image = registry.private_image
    subprocess.run(engine.command("rmi", "--force", image), capture_output=True)
    refused = engine.pull(image)
    assert not refused.ok
    assert "unauthorized" in refused.message.lower() or "authentication" in refused.message
    wrong = engine.pull(image, [Credential(registry.server, "puller", "not-the-password")])
    assert not wrong.ok
    assert "not-the-password" not in wrong.message
    pulled = engine.pull(image, [registry.credential])
    assert pulled.ok, pulled.message
    assert engine.has_image(image)


def _exists(engine: Engine, name: str) -> bool:
    argv = engine.command("container", "inspect", name)
    return subprocess.run(argv, capture_output=True).returncode == 0
