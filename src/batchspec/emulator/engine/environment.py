"""The environment a task and a StartTask see on a node, as Batch sets it."""

from __future__ import annotations

import os

from batchspec.emulator.service.layout import NodeDirs
from batchspec.emulator.service.values import Doc

_PATH_FALLBACK = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def _settings(items: list[Doc] | None) -> dict[str, str]:
    return {str(s["name"]): str(s.get("value") or "") for s in items or [] if s.get("name")}


def base_environment(
    account: str, endpoint: str, pool: Doc, node: Doc, dirs: NodeDirs
) -> dict[str, str]:
    """The variables every task and StartTask on this node sees."""
    return {
        "PATH": os.environ.get("PATH", _PATH_FALLBACK),
        "HOME": str(dirs.home),
        "LANG": os.environ.get("LANG", "C.UTF-8"),
        "AZ_BATCH_ACCOUNT_NAME": account,
        "AZ_BATCH_ACCOUNT_URL": endpoint,
        "AZ_BATCH_POOL_ID": pool["id"],
        "AZ_BATCH_NODE_ID": node["id"],
        "AZ_BATCH_NODE_IS_DEDICATED": "true" if node.get("isDedicated", True) else "false",
        "AZ_BATCH_NODE_ROOT_DIR": str(dirs.root),
        "AZ_BATCH_NODE_SHARED_DIR": str(dirs.shared),
        "AZ_BATCH_NODE_STARTUP_DIR": str(dirs.startup),
        "AZ_BATCH_NODE_STARTUP_WORKING_DIR": str(dirs.startup / "wd"),
        "AZ_BATCH_NODE_MOUNTS_DIR": str(dirs.root / "fsmounts"),
        "AZ_BATCH_TASK_USER": "_azbatch",
    }


def _identity(user: Doc | None) -> str:
    auto = (user or {}).get("autoUser") or {}
    admin = str(auto.get("elevationLevel", "nonadmin")).lower() == "admin"
    return "PoolAdmin" if admin else "PoolNonAdmin"


def start_task_environment(base: dict[str, str], start_task: Doc, dirs: NodeDirs) -> dict[str, str]:
    """The StartTask's environment: the node's, the task dir, then its own settings."""
    env = dict(base)
    env["AZ_BATCH_TASK_DIR"] = str(dirs.startup)
    env["AZ_BATCH_TASK_WORKING_DIR"] = str(dirs.startup / "wd")
    env["AZ_BATCH_TASK_USER_IDENTITY"] = _identity(start_task.get("userIdentity"))
    env.update(_settings(start_task.get("environmentSettings")))
    return env


def task_environment(base: dict[str, str], job: Doc, task: Doc, dirs: NodeDirs) -> dict[str, str]:
    """A task's environment: the node's, the job's common settings, then the task's own."""
    env = dict(base)
    task_dir = dirs.task_dir(job["id"], task["id"])
    env.update(_settings(job.get("commonEnvironmentSettings")))
    env["AZ_BATCH_JOB_ID"] = job["id"]
    env["AZ_BATCH_TASK_ID"] = task["id"]
    env["AZ_BATCH_TASK_DIR"] = str(task_dir)
    env["AZ_BATCH_TASK_WORKING_DIR"] = str(task_dir / "wd")
    env["AZ_BATCH_TASK_USER_IDENTITY"] = _identity(task.get("userIdentity"))
    env["AZ_BATCH_CERTIFICATES_DIR"] = str(task_dir / "certs")
    env.update(_settings(task.get("environmentSettings")))
    return env
