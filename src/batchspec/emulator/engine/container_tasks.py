"""Container tasks on a node: prefetch at node start, then each command line in a container.

As on a Batch node: the pool's containerImageNames are pulled when the node starts (a failed
pull makes the node unusable with a ContainerInvalidImage error); a task whose image is missing
pulls it first, signed in to its own registry or the pool's registry for that server; the node's
Batch directories are mounted at their own paths (all of AZ_BATCH_NODE_ROOT_DIR unless
containerHostBatchBindMounts says which), the task's AZ_BATCH_* and own variables are passed
in, and the working directory is the task's unless the settings ask for the image's own.
"""

from __future__ import annotations

import asyncio
import re
import shlex
import uuid
from pathlib import Path

from batchspec.emulator.engine.cmdline import CommandLineError, split_command_line
from batchspec.emulator.engine.container_engines import NoEngine, configured_engine
from batchspec.emulator.engine.containers import (
    ContainerRun,
    Credential,
    Engine,
    Mount,
    normalize_image,
    registry_of,
    run_container,
)
from batchspec.emulator.engine.runner import Handle, Outcome
from batchspec.emulator.service.layout import NodeDirs
from batchspec.emulator.service.values import Doc

# The node's own variables stay outside: the image brings its PATH, HOME and locale.
_HOST_ONLY = frozenset({"PATH", "HOME", "LANG"})
_NAME_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")
PULL_FAILED = "ContainerInvalidImage"
NODES_LABEL = "batchspec.nodes"


def _credentials(pool: Doc, settings: Doc | None) -> list[Credential]:
    """Username/password sign-ins from the task's registry and the pool's registries."""
    config = (pool.get("virtualMachineConfiguration") or {}).get("containerConfiguration") or {}
    registries = list(config.get("containerRegistries") or [])
    if settings and settings.get("registry"):
        registries.insert(0, settings["registry"])
    found: dict[str, Credential] = {}
    for registry in registries:
        if registry.get("username") and registry.get("password"):
            server = str(registry.get("registryServer") or "docker.io")
            found.setdefault(server, Credential(server, registry["username"], registry["password"]))
    return list(found.values())


def _identity_only(pool: Doc, settings: Doc | None, server: str) -> bool:
    config = (pool.get("virtualMachineConfiguration") or {}).get("containerConfiguration") or {}
    registries = list(config.get("containerRegistries") or [])
    if settings and settings.get("registry"):
        registries.append(settings["registry"])
    return any(
        (r.get("registryServer") or "docker.io") == server and r.get("identityReference")
        for r in registries
    )


async def ensure_image(engine: Engine, image: str, pool: Doc, settings: Doc | None) -> str | None:
    """Pull `image` unless the store has it; None when it is there, else why not."""
    if await asyncio.to_thread(engine.has_image, image):
        return None
    server = registry_of(image)
    credentials = [c for c in _credentials(pool, settings) if c.server == server]
    if not credentials and _identity_only(pool, settings, server):
        return (
            f"Pulling the container image '{image}' failed: registry {server} signs in with a "
            "managed identity, which the local Batch service does not have."
        )
    result = await asyncio.to_thread(engine.pull, image, credentials)
    if result.ok:
        return None
    return f"Pulling the container image '{image}' failed: {result.message}"


async def prefetch(pool: Doc) -> Doc | None:
    """Pull the pool's images when a node starts; the node error when one fails."""
    config = (pool.get("virtualMachineConfiguration") or {}).get("containerConfiguration")
    if not config:
        return None
    engine = configured_engine()
    if isinstance(engine, NoEngine):
        return {"code": PULL_FAILED, "message": engine.message()}
    for image in config.get("containerImageNames") or []:
        problem = await ensure_image(engine, str(image), pool, None)
        if problem is not None:
            return {"code": PULL_FAILED, "message": problem}
    return None


def _mounts(settings: Doc, dirs: NodeDirs, task_dir: Path) -> list[Mount]:
    entries = settings.get("containerHostBatchBindMounts")
    if entries is None:
        return [Mount(dirs.root, str(dirs.root))]
    where = {
        "Shared": dirs.shared,
        "Startup": dirs.startup,
        "VfsMounts": dirs.root / "fsmounts",
        "Applications": dirs.root / "applications",
        "JobPrep": task_dir.parent / "jobpreparation",
        "Task": task_dir,
    }
    mounts = {task_dir: Mount(task_dir, str(task_dir))}
    for entry in entries:
        path = where[str(entry["source"])]
        path.mkdir(parents=True, exist_ok=True)
        mounts[path] = Mount(path, str(path), bool(entry.get("isReadOnly", False)))
    return list(mounts.values())


async def run_in_container(
    command_line: str,
    settings: Doc,
    pool: Doc,
    dirs: NodeDirs,
    cwd: Path,
    env: dict[str, str],
    task_dir: Path,
    timeout: float | None,
    handle: Handle,
) -> Outcome:
    """Run a command line in a container of the task's image, as run_command does on the node."""
    engine = configured_engine()
    if isinstance(engine, NoEngine):
        return Outcome(None, start_error="ContainerEngineMissing", start_message=engine.message())
    try:
        argv = split_command_line(command_line, env)
        options = shlex.split(str(settings.get("containerRunOptions") or ""))
    except (CommandLineError, ValueError) as exc:
        return Outcome(None, start_error="CommandLineInvalid", start_message=str(exc))
    image = normalize_image(str(settings["imageName"]))
    problem = await ensure_image(engine, image, pool, settings)
    if problem is not None:
        (task_dir / "stderr.txt").write_text(problem + "\n")
        return Outcome(None, start_error=PULL_FAILED, start_message=problem)
    passed = {k: v for k, v in env.items() if k not in _HOST_ONLY}
    own_dir = settings.get("workingDirectory") != "containerImageDefault"
    run = ContainerRun(
        name=_NAME_UNSAFE.sub("-", f"batchspec-{task_dir.name}-{uuid.uuid4().hex[:10]}"),
        image=image,
        argv=tuple(argv),
        env_names=tuple(sorted(passed)),
        mounts=tuple(_mounts(settings, dirs, task_dir)),
        workdir=str(cwd) if own_dir else None,
        options=tuple(options),
        labels=((NODES_LABEL, str(dirs.node_dir.parent)),),
    )

    def started(proc: asyncio.subprocess.Process) -> None:
        handle.process = proc
        if handle.on_spawn is not None:
            handle.on_spawn(proc.pid)
        if handle.killed_reason is not None:
            handle.kill(handle.killed_reason)

    try:
        result = await run_container(
            engine,
            run,
            passed,
            task_dir / "stdout.txt",
            task_dir / "stderr.txt",
            timeout,
            started,
        )
    finally:
        if handle.process is not None and handle.on_exit is not None:
            handle.on_exit(handle.process.pid)
    if result.engine_error is not None and handle.killed_reason is None:
        return Outcome(None, start_error="ContainerStartFailed", start_message=result.engine_error)
    if result.timed_out:
        handle.killed_reason = handle.killed_reason or "timeout"
    return Outcome(
        result.exit_code if not result.timed_out else None,
        timed_out=result.timed_out,
        killed_reason=handle.killed_reason,
    )


def remove_leftovers(live_pools: list[Doc], nodes_dir: Path) -> None:
    """After a crash: remove the containers this service's nodes left running (a reboot)."""
    uses = any(
        (p.get("virtualMachineConfiguration") or {}).get("containerConfiguration")
        for p in live_pools
    )
    engine = configured_engine() if uses else None
    if isinstance(engine, Engine):
        engine.remove_labelled(NODES_LABEL, str(nodes_dir))
