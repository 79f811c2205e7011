"""Container plans -> azure-batch models: the password comes from the environment, once."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from batchspec.apply.batch_models import BatchModels, MissingRegistryPassword
from batchspec.apply.containers import container_problem
from batchspec.plan.model import (
    ContainerConfigurationPlan,
    ContainerSettingsPlan,
    MountPlan,
    Plan,
    RegistryPlan,
)
from batchspec.redact import redact

from .handmade_plans import RecordingSigner, topn_like_plan, wire

PASSWORD = "s3cret-registry-password"
REGISTRY = RegistryPlan("registry.example.com", "puller", "REG_PASSWORD", None)


def container_plan(root: Path) -> Plan:
    plan = topn_like_plan(root)
    config = ContainerConfigurationPlan(
        image_names=("registry.example.com/py:3",),
        registries=(
            REGISTRY,
            RegistryPlan("acr.example.io", identity_resource_id="/subscriptions/x"),
        ),
    )
    settings = ContainerSettingsPlan(
        "registry.example.com/py:3",
        run_options="--shm-size 1g",
        mounts=(MountPlan("Shared", True),),
    )
    start = dataclasses.replace(plan.pool.start_task, container_settings=settings)
    pool = dataclasses.replace(plan.pool, container_configuration=config, start_task=start)
    tasks = [dataclasses.replace(t, container_settings=settings) for t in plan.tasks]
    return dataclasses.replace(plan, pool=pool, tasks=tasks)


def test_pool_and_task_bodies_carry_the_container_settings(tmp_path: Path) -> None:
    models = BatchModels(container_plan(tmp_path), RecordingSigner(), {"REG_PASSWORD": PASSWORD})
    body = wire(models.pool())
    assert body["virtualMachineConfiguration"]["containerConfiguration"] == {
        "type": "dockerCompatible",
        "containerImageNames": ["registry.example.com/py:3"],
        "containerRegistries": [
            {"registryServer": "registry.example.com", "username": "puller", "password": PASSWORD},
            {
                "registryServer": "acr.example.io",
                "identityReference": {"resourceId": "/subscriptions/x"},
            },
        ],
    }
    expected = {
        "imageName": "registry.example.com/py:3",
        "containerRunOptions": "--shm-size 1g",
        "workingDirectory": "taskWorkingDirectory",
        "containerHostBatchBindMounts": [{"source": "Shared", "isReadOnly": True}],
    }
    assert body["startTask"]["containerSettings"] == expected
    task = wire(models.task(container_plan(tmp_path).tasks[0]))
    assert task["containerSettings"] == expected


def test_the_password_read_is_redacted_everywhere_after(tmp_path: Path) -> None:
    BatchModels(container_plan(tmp_path), RecordingSigner(), {"REG_PASSWORD": PASSWORD}).pool()
    assert PASSWORD not in redact(f"request body had password {PASSWORD}")


def test_a_missing_password_variable_is_named(tmp_path: Path) -> None:
    with pytest.raises(MissingRegistryPassword) as raised:
        BatchModels(container_plan(tmp_path), RecordingSigner(), {}).pool()
    assert str(raised.value) == (
        "the password for registry registry.example.com (user puller) comes from "
        "$REG_PASSWORD, which is not set: export REG_PASSWORD=..."
    )


def test_preflight_finds_the_missing_password_before_anything_is_created(tmp_path: Path) -> None:
    plan = container_plan(tmp_path)
    assert container_problem(plan, None, {}) == (
        "the password for registry registry.example.com (user puller) comes from "
        "$REG_PASSWORD, which is not set: export REG_PASSWORD=..."
    )
    assert container_problem(plan, None, {"REG_PASSWORD": PASSWORD}) is None
    assert container_problem(topn_like_plan(tmp_path / "plain"), None, {}) is None


def test_a_plain_pool_has_no_container_configuration(tmp_path: Path) -> None:
    body = wire(BatchModels(topn_like_plan(tmp_path), RecordingSigner(), {}).pool())
    assert "containerConfiguration" not in body["virtualMachineConfiguration"]
    assert "containerSettings" not in body["startTask"]
