"""Multi-instance plans -> azure-batch models: MultiInstanceSettings with signed common
resource files, and the pool's inter-node communication flag."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from azure.batch import models as bm

from batchspec.apply.batch_models import BatchModels
from batchspec.apply.pool import pool_differences
from batchspec.plan.model import MultiInstancePlan, ResourceFilePlan

from .handmade_plans import RecordingSigner, topn_like_plan, wire


def test_the_task_and_pool_bodies_carry_the_multi_instance_settings(tmp_path: Path) -> None:
    plan = topn_like_plan(tmp_path)
    multi = MultiInstancePlan(
        3,
        "/bin/bash -c 'start-daemon'",
        (ResourceFilePlan("application", "mpi.c", file_path="mpi.c"),),
    )
    tasks = [dataclasses.replace(plan.tasks[0], multi_instance=multi)]
    plan = dataclasses.replace(
        plan, pool=dataclasses.replace(plan.pool, inter_node_communication=True), tasks=tasks
    )
    models = BatchModels(plan, RecordingSigner())
    task = models.task(plan.tasks[0])
    assert isinstance(task.multi_instance_settings, bm.MultiInstanceSettings)
    body = wire(task)
    name = plan.container_name("application")
    assert body["multiInstanceSettings"] == {
        "numberOfInstances": 3,
        "coordinationCommandLine": "/bin/bash -c 'start-daemon'",
        "commonResourceFiles": [
            {"httpUrl": f"https://acct.blob/{name}/mpi.c?sp=r&sig=R", "filePath": "mpi.c"}
        ],
    }
    assert wire(models.pool())["enableInterNodeCommunication"] is True


def test_a_plain_plan_sends_neither(tmp_path: Path) -> None:
    plan = topn_like_plan(tmp_path)
    models = BatchModels(plan, RecordingSigner())
    assert "multiInstanceSettings" not in wire(models.task(plan.tasks[0]))
    assert "enableInterNodeCommunication" not in wire(models.pool())


def test_a_pool_without_inter_node_communication_is_not_reused(tmp_path: Path) -> None:
    plan = topn_like_plan(tmp_path)
    wanted = BatchModels(
        dataclasses.replace(
            plan, pool=dataclasses.replace(plan.pool, inter_node_communication=True)
        ),
        RecordingSigner(),
    ).pool()
    existing = bm.BatchPool(wire(BatchModels(plan, RecordingSigner()).pool()))
    assert pool_differences(existing, wanted) == [
        "inter_node_communication: exists as False, spec wants True"
    ]
