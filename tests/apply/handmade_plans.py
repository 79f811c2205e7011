"""Hand-built Plans for apply tests that do not go through the spec loader."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from azure.batch._utils.model_base import SdkJSONEncoder

from batchspec.plan.model import (
    CleanupPlan,
    ContainerPlan,
    DownloadPlan,
    ImagePlan,
    JobPlan,
    OutputPlan,
    Plan,
    PoolPlan,
    ResourceFilePlan,
    RunInfo,
    StartTaskPlan,
    TaskPlan,
    UploadPlan,
)

COPY_TO_SHARED = "/bin/bash -c 'cp -r $AZ_BATCH_TASK_WORKING_DIR/* $AZ_BATCH_NODE_SHARED_DIR'"
IMAGE = ImagePlan("canonical", "ubuntu-24_04-lts", "server", "latest", "batch.node.ubuntu 24.04")


def topn_like_plan(
    root: Path,
    *,
    prefix: str = "t",
    run_id: str = "r1",
    tasks: int = 2,
    vm_size: str = "standard_d2s_v3",
    start_command: str = COPY_TO_SHARED,
    task_command: str | None = None,
    cleanup: CleanupPlan | None = None,
) -> Plan:
    """A small plan shaped like the topn example, with its files written under `root`."""
    root.mkdir(parents=True, exist_ok=True)
    script = root / "count.py"
    script.write_text(
        "import sys\nfrom collections import Counter\n"
        "words = open(sys.argv[1]).read().split()\n"
        "with open(sys.argv[1] + '_OUTPUT.txt', 'w') as out:\n"
        "    for w, n in Counter(words).most_common(int(sys.argv[2])):\n"
        "        out.write(f'{w} {n}\\n')\n"
    )
    uploads = [UploadPlan(script, "application", "count.py", script.stat().st_size)]
    task_plans = []
    for i in range(tasks):
        data = root / f"in{i}.txt"
        data.write_text(("alpha " * (i + 3)) + ("beta " * 2) + "gamma\n")
        uploads.append(UploadPlan(data, "input", data.name, data.stat().st_size))
        command = task_command or (
            f"/bin/bash -c 'python3 $AZ_BATCH_NODE_SHARED_DIR/count.py {data.name} 2'"
        )
        task_plans.append(
            TaskPlan(
                id=f"task-{i}",
                command_line=command,
                resource_files=(ResourceFilePlan(container="input", blob=data.name),),
                outputs=(OutputPlan("*_OUTPUT.txt", "output", None, "success"),),
                max_retries=0,
                max_wall_clock_seconds=600,
            )
        )
    return Plan(
        name=f"{prefix}-plan",
        spec_path=root / "spec.yaml",
        spec_digest="0" * 64,
        run=RunInfo(run_id, "2026-11-24"),
        vars=(),
        containers=(
            ContainerPlan("application", f"{prefix}-application"),
            ContainerPlan("input", f"{prefix}-input"),
            ContainerPlan("output", f"{prefix}-output"),
        ),
        uploads=tuple(uploads),
        pool=PoolPlan(
            id=f"{prefix}-pool",
            vm_size=vm_size,
            dedicated_nodes=1,
            spot_nodes=0,
            image=IMAGE,
            start_task=StartTaskPlan(
                command_line=start_command,
                resource_files=(ResourceFilePlan(container="application"),),
                elevated=True,
            ),
        ),
        job=JobPlan(id=f"{prefix}-job-{run_id}", timeout_seconds=1200),
        tasks=task_plans,
        downloads=(DownloadPlan("output", root / "out"),),
        cleanup=cleanup or CleanupPlan(containers="keep", job="delete", pool="keep"),
    )


class RecordingSigner:
    """Signs with a recognisable fake token and records what was asked for."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def blob_url(self, container_name: str, blob: str) -> str:
        self.calls.append(("blob", f"{container_name}/{blob}"))
        return f"https://acct.blob/{container_name}/{blob}?sp=r&sig=R"

    def container_read_url(self, container_name: str) -> str:
        self.calls.append(("read", container_name))
        return f"https://acct.blob/{container_name}?sp=rl&sig=RL"

    def container_write_url(self, container_name: str) -> str:
        self.calls.append(("write", container_name))
        return f"https://acct.blob/{container_name}?sp=cw&sig=CW"


def wire(model: Any) -> Any:
    """The JSON body the SDK would send."""
    return json.loads(json.dumps(model, cls=SdkJSONEncoder, exclude_readonly=True))
