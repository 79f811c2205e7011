"""A node on this machine: Batch's directory layout and the environment a task sees.

Layout under `<data-dir>/nodes/<node-id>/` (AZ_BATCH_NODE_ROOT_DIR is `tasks/`, as /mnt/batch/tasks
is on Batch):

    tasks/startup/{stdout.txt,stderr.txt,wd/}          StartTask
    tasks/shared/                                        AZ_BATCH_NODE_SHARED_DIR
    tasks/workitems/<job>/job-1/<task>/{stdout.txt,stderr.txt,wd/}
    tasks/applications/  tasks/fsmounts/
    home/                                                HOME of the task user
"""

from __future__ import annotations

import hashlib
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from batchspec.emulator.wire import Doc

_PATH_FALLBACK = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def node_id_for(pool_id: str, index: int, created: str, dedicated: bool) -> str:
    """A node id shaped like Batch's `tvmps_<hash>_d` (dedicated) or `_p` (spot)."""
    digest = hashlib.sha256(f"{pool_id}/{index}/{created}".encode()).hexdigest()
    return f"tvmps_{digest}_{'d' if dedicated else 'p'}"


@dataclass(frozen=True)
class NodeDirs:
    """The directories of one node."""

    node_dir: Path

    @property
    def root(self) -> Path:
        return self.node_dir / "tasks"

    @property
    def shared(self) -> Path:
        return self.root / "shared"

    @property
    def startup(self) -> Path:
        return self.root / "startup"

    @property
    def home(self) -> Path:
        return self.node_dir / "home"

    def task_dir(self, job_id: str, task_id: str) -> Path:
        """Where a task's stdout.txt, stderr.txt and wd/ live."""
        return self.root / "workitems" / job_id / "job-1" / task_id

    def create(self) -> None:
        """Make the node's directories."""
        for d in (self.shared, self.startup / "wd", self.root / "workitems", self.home):
            d.mkdir(parents=True, exist_ok=True)
        (self.root / "applications").mkdir(exist_ok=True)
        (self.root / "fsmounts").mkdir(exist_ok=True)

    def remove(self) -> None:
        """Delete the node's directories (the node left the pool)."""
        shutil.rmtree(self.node_dir, ignore_errors=True)


def node_dirs(data_dir: Path, node_id: str) -> NodeDirs:
    """The directories of `node_id` under the data dir."""
    return NodeDirs(data_dir / "nodes" / node_id)


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
