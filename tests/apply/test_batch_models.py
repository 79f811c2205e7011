from pathlib import Path

from batchspec.apply.batch_models import BatchModels
from batchspec.plan.model import OutputPlan, ResourceFilePlan, TaskPlan

from .handmade_plans import RecordingSigner, topn_like_plan, wire


def test_pool_body_has_image_nodes_and_elevated_start_task(tmp_path: Path) -> None:
    signer = RecordingSigner()
    body = wire(BatchModels(topn_like_plan(tmp_path), signer).pool())
    assert body["id"] == "t-pool"
    assert body["vmSize"] == "standard_d2s_v3"
    assert body["targetDedicatedNodes"] == 1
    assert body["targetLowPriorityNodes"] == 0
    vmc = body["virtualMachineConfiguration"]
    assert vmc["nodeAgentSKUId"] == "batch.node.ubuntu 24.04"
    assert vmc["imageReference"] == {
        "publisher": "canonical",
        "offer": "ubuntu-24_04-lts",
        "sku": "server",
        "version": "latest",
    }
    start = body["startTask"]
    assert start["waitForSuccess"] is True
    assert start["userIdentity"] == {"autoUser": {"scope": "pool", "elevationLevel": "admin"}}
    # The application container is fetched whole, with a read+list SAS.
    assert start["resourceFiles"] == [
        {"storageContainerUrl": "https://acct.blob/t-application?sp=rl&sig=RL"}
    ]
    assert signer.calls == [("read", "t-application")]


def test_job_body_runs_on_the_pool_with_timeout_and_no_early_termination(tmp_path: Path) -> None:
    body = wire(BatchModels(topn_like_plan(tmp_path), RecordingSigner()).job())
    assert body["poolInfo"] == {"poolId": "t-pool"}
    assert body["constraints"]["maxWallClockTime"] == "PT20M00S"
    assert body["onAllTasksComplete"] == "noaction"
    assert body["usesTaskDependencies"] is False


def test_task_body_signs_input_blob_and_output_container(tmp_path: Path) -> None:
    plan = topn_like_plan(tmp_path)
    signer = RecordingSigner()
    models = BatchModels(plan, signer)
    bodies = [wire(models.task(t)) for t in plan.tasks]
    first = bodies[0]
    assert first["id"] == "task-0"
    assert first["resourceFiles"] == [
        {"httpUrl": "https://acct.blob/t-input/in0.txt?sp=r&sig=R", "filePath": "in0.txt"}
    ]
    assert first["outputFiles"] == [
        {
            "filePattern": "*_OUTPUT.txt",
            "destination": {
                "container": {"containerUrl": "https://acct.blob/t-output?sp=cw&sig=CW"}
            },
            "uploadOptions": {"uploadCondition": "tasksuccess"},
        }
    ]
    assert first["constraints"] == {"maxWallClockTime": "PT10M00S", "maxTaskRetryCount": 0}
    assert "userIdentity" not in first
    # One write SAS for the output container, however many tasks use it.
    assert signer.calls.count(("write", "t-output")) == 1


def test_task_options_cover_env_dependencies_elevation_prefix_and_plain_url(
    tmp_path: Path,
) -> None:
    plan = topn_like_plan(tmp_path)
    task = TaskPlan(
        id="t2",
        command_line="echo hi",
        resource_files=(
            ResourceFilePlan(container="input", prefix="in", file_path="data"),
            ResourceFilePlan(url="https://example.org/x.bin", file_path="x.bin", file_mode="0755"),
        ),
        environment=(("A", "1"), ("B", "two")),
        outputs=(OutputPlan("logs/*.log", "output", "logs/t2", "failure"),),
        depends_on=("task-0", "task-1"),
        elevated=True,
    )
    body = wire(BatchModels(plan, RecordingSigner()).task(task))
    assert body["resourceFiles"] == [
        {
            "storageContainerUrl": "https://acct.blob/t-input?sp=rl&sig=RL",
            "blobPrefix": "in",
            "filePath": "data",
        },
        {"httpUrl": "https://example.org/x.bin", "filePath": "x.bin", "fileMode": "0755"},
    ]
    assert body["environmentSettings"] == [
        {"name": "A", "value": "1"},
        {"name": "B", "value": "two"},
    ]
    assert body["dependsOn"] == {"taskIds": ["task-0", "task-1"]}
    assert body["userIdentity"] == {"autoUser": {"scope": "task", "elevationLevel": "admin"}}
    out = body["outputFiles"][0]
    assert out["destination"]["container"]["path"] == "logs/t2"
    assert out["uploadOptions"] == {"uploadCondition": "taskfailure"}
    assert body["constraints"] == {"maxTaskRetryCount": 0}


def test_job_actions_and_environment_map_to_batchs_job_properties(tmp_path: Path) -> None:
    import dataclasses

    from batchspec.apply.batch_models import job_completion_update

    plan = topn_like_plan(tmp_path)
    job = dataclasses.replace(
        plan.job,
        environment=(("STAGE", "prod"),),
        on_all_tasks_complete="terminatejob",
        on_task_failure="performexitoptionsjobaction",
    )
    plan = dataclasses.replace(plan, job=job)
    body = wire(BatchModels(plan, RecordingSigner()).job())
    # Created with noaction: the job could otherwise end between two task collections.
    assert body["onAllTasksComplete"] == "noaction"
    assert body["onTaskFailure"] == "performexitoptionsjobaction"
    assert body["commonEnvironmentSettings"] == [{"name": "STAGE", "value": "prod"}]
    assert wire(job_completion_update(job)) == {"onAllTasksComplete": "terminatejob"}
    assert job_completion_update(dataclasses.replace(job, on_all_tasks_complete="noaction")) is None


def test_display_name_and_required_slots_map_to_the_task(tmp_path: Path) -> None:
    plan = topn_like_plan(tmp_path)
    task = TaskPlan(id="t3", command_line="true", display_name="frame 3", required_slots=2)
    body = wire(BatchModels(plan, RecordingSigner()).task(task))
    assert (body["displayName"], body["requiredSlots"]) == ("frame 3", 2)
    plain = wire(BatchModels(plan, RecordingSigner()).task(TaskPlan(id="t4", command_line="true")))
    assert "displayName" not in plain and "requiredSlots" not in plain


def test_exit_conditions_and_id_ranges_map_to_batchs_shapes(tmp_path: Path) -> None:
    from batchspec.plan.model import ExitConditionsPlan, ExitOptionsPlan

    plan = topn_like_plan(tmp_path)
    conditions = ExitConditionsPlan(
        exit_codes=((3, ExitOptionsPlan("none", "satisfy")),),
        exit_code_ranges=((10, 20, ExitOptionsPlan("terminate", None)),),
        pre_processing_error=ExitOptionsPlan(None, "block"),
        default=ExitOptionsPlan("disable", None),
    )
    task = TaskPlan(
        id="merge",
        command_line="true",
        depends_on=("prep",),
        depends_on_ranges=((1, 100),),
        exit_conditions=conditions,
    )
    body = wire(BatchModels(plan, RecordingSigner()).task(task))
    assert body["dependsOn"] == {"taskIds": ["prep"], "taskIdRanges": [{"start": 1, "end": 100}]}
    assert body["exitConditions"] == {
        "exitCodes": [
            {"code": 3, "exitOptions": {"jobAction": "none", "dependencyAction": "satisfy"}}
        ],
        "exitCodeRanges": [{"start": 10, "end": 20, "exitOptions": {"jobAction": "terminate"}}],
        "preProcessingError": {"dependencyAction": "block"},
        "default": {"jobAction": "disable"},
    }
    only_ranges = TaskPlan(id="m2", command_line="true", depends_on_ranges=((5, 6),))
    assert wire(BatchModels(plan, RecordingSigner()).task(only_ranges))["dependsOn"] == {
        "taskIdRanges": [{"start": 5, "end": 6}]
    }
