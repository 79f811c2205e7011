"""A node on this machine: Batch's directory layout.

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
import shutil
from dataclasses import dataclass
from pathlib import Path


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
