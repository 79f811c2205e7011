"""What apply is about to do, for the confirmation prompt: which target and account it spends
on, and what it will create, reuse and (after a successful run) delete.

A few read requests (one per container, the pool and the job) tell existing resources from new
ones; nothing is created or changed here.
"""

from __future__ import annotations

from azure.batch import BatchClient
from azure.core.exceptions import ResourceNotFoundError
from azure.storage.blob import BlobServiceClient

from batchspec.apply.ownership import read_batch_mark, read_mark
from batchspec.apply.storage import container_metadata
from batchspec.plan.model import Plan
from batchspec.targets import Target


def intent(
    plan: Plan, target: Target, batch: BatchClient, blobs: BlobServiceClient, owner: str
) -> str:
    """Several lines: the target, then what will be created, reused and deleted."""
    create: list[str] = []
    reuse: list[str] = []
    mine: set[str] = set()
    for container in plan.containers:
        metadata = container_metadata(blobs, container.name)
        label = f"container {container.name}"
        if metadata is None:
            create.append(label)
            mine.add(label)
            continue
        mark = read_mark(metadata)
        reuse.append(label)
        if mark is not None and mark.owner == owner:
            mine.add(label)
    pool = plan.pool
    label = f"pool {pool.id} ({pool.vm_size}, {pool.dedicated_nodes + pool.spot_nodes} node(s))"
    try:
        found = read_batch_mark(batch.get_pool(pool.id, select=["id", "metadata"]).metadata)
        reuse.append(label)
        if found is not None and found.owner == owner:
            mine.add(f"pool {pool.id}")
    except ResourceNotFoundError:
        create.append(label)
        mine.add(f"pool {pool.id}")
    create.append(f"job {plan.job.id} with {len(plan.tasks)} task(s)")
    mine.add(f"job {plan.job.id}")
    actions = plan.cleanup.actions(True)
    delete = [f"job {plan.job.id}"] if actions.job == "delete" else []
    if actions.pool == "delete" and f"pool {pool.id}" in mine:
        delete.append(f"pool {pool.id}")
    if actions.containers == "delete":
        delete += [f"container {c.name}" for c in plan.containers if f"container {c.name}" in mine]
    account = target.batch_account or "(Entra ID)"
    lines = [
        f"Apply {plan.name} (run {plan.run.id}) on {target.name}: Batch account {account} at "
        f"{target.batch_endpoint}, storage account {target.storage.account_name}",
        f"  create: {', '.join(create) or 'nothing'}",
        f"  reuse:  {', '.join(reuse) or 'nothing'}",
        f"  upload: {len(plan.uploads)} file(s) (unchanged blobs are skipped)",
        f"  delete after a successful run: {', '.join(delete) or 'nothing'}",
    ]
    return "\n".join(lines)
