"""Container pools and container tasks in the spec, the plan and validate: Batch's rules offline."""

from __future__ import annotations

import io
import json
from pathlib import Path

from click.testing import CliRunner

from batchspec.cli import main
from batchspec.plan.model import ContainerSettingsPlan, MountPlan, RegistryPlan
from batchspec.plan.show import write_json, write_text
from plan_helpers import located, messages, plan_of

REPO = Path(__file__).resolve().parent.parent

CONTAINER_BASE = """\
batchspec: 1
name: demo
vars: {image: "registry.example.com/tools/py:3"}
containers:
  input: {name: demo-input}
uploads:
  - {source: "data/*.txt", container: input}
pool:
  id: demo-pool
  vm_size: VM_SIZE
  nodes: {dedicated: 1}
  image:
    publisher: PUBLISHER
    offer: OFFER
    sku: "2204"
    node_agent: batch.node.ubuntu 22.04
POOL_CONTAINERS
job:
  id: demo
  tasks:
    - id: "t-{{ index }}"
      foreach: {container: input}
      command: python3 -V
      container_settings: TASK_CONTAINER
"""

POOL_CONTAINERS = """\
  container_configuration:
    images: ["{{ vars.image }}", "busybox"]
    registries:
      - {server: registry.example.com, username: puller, password_env: REG_PASSWORD}
      - {server: acr.example.io, identity: /subscriptions/0/rg/id}
"""

TASK_CONTAINER = (
    '{image: "{{ vars.image }}", run_options: "--shm-size 1g", working_directory: image,'
    " mounts: [{source: shared, read_only: true}, {source: task}]}"
)


def container_spec(
    tmp_path: Path,
    *,
    vm_size: str = "standard_d2s_v3",
    image: tuple[str, str] = ("microsoft-dsvm", "ubuntu-hpc"),
    pool_containers: str = POOL_CONTAINERS,
    task_container: str = TASK_CONTAINER,
) -> Path:
    text = (
        CONTAINER_BASE.replace("VM_SIZE", vm_size)
        .replace("PUBLISHER", image[0])
        .replace("OFFER", image[1])
        .replace("POOL_CONTAINERS\n", pool_containers)
        .replace("TASK_CONTAINER", task_container)
    )
    (tmp_path / "data").mkdir(exist_ok=True)
    (tmp_path / "data" / "a.txt").write_text("a\n")
    path = tmp_path / "spec.yaml"
    path.write_text(text)
    return path


def test_the_plan_holds_the_container_settings_as_batch_takes_them(tmp_path: Path) -> None:
    plan = plan_of(container_spec(tmp_path))
    config = plan.pool.container_configuration
    assert config is not None
    assert config.type == "dockerCompatible"
    assert config.image_names == ("registry.example.com/tools/py:3", "busybox")
    assert config.registries == (
        RegistryPlan("registry.example.com", "puller", "REG_PASSWORD", None),
        RegistryPlan("acr.example.io", None, None, "/subscriptions/0/rg/id"),
    )
    assert plan.tasks[0].container_settings == ContainerSettingsPlan(
        image_name="registry.example.com/tools/py:3",
        run_options="--shm-size 1g",
        working_directory="containerImageDefault",
        registry=None,
        mounts=(MountPlan("Shared", True), MountPlan("Task", False)),
    )


def test_plan_output_shows_where_the_password_comes_from_never_a_value(tmp_path: Path) -> None:
    plan = plan_of(container_spec(tmp_path))
    text, data = io.StringIO(), io.StringIO()
    write_text(plan, text)
    write_json(plan, data)
    assert "prefetch image: registry.example.com/tools/py:3" in text.getvalue()
    assert "registry: registry.example.com (user puller, password from $REG_PASSWORD)" in (
        text.getvalue()
    )
    assert "container: image registry.example.com/tools/py:3; working directory " in (
        text.getvalue()
    )
    pool = json.loads(data.getvalue())["pool"]
    registry = pool["container_configuration"]["container_registries"][0]
    assert registry["password"] == "<redacted: read from $REG_PASSWORD by apply>"
    assert registry["registry_server"] == "registry.example.com"
    task = json.loads(data.getvalue())["tasks"][0]
    assert task["container_settings"]["container_host_batch_bind_mounts"] == [
        {"source": "Shared", "is_read_only": True},
        {"source": "Task", "is_read_only": False},
    ]


def test_container_settings_need_a_container_pool(tmp_path: Path) -> None:
    path = container_spec(tmp_path, pool_containers="")
    assert located(path) == [
        "23:7: $.job.tasks[0].container_settings: container settings need a pool with a "
        "container configuration: add pool.container_configuration (Batch refuses a container "
        "task on this pool)"
    ]


def test_a_container_pool_needs_an_image_with_container_support(tmp_path: Path) -> None:
    path = container_spec(tmp_path, image=("canonical", "ubuntu-24_04-lts"))
    assert messages(path) == [
        "$.pool.container_configuration: the image canonical/ubuntu-24_04-lts/2204 has no "
        "container runtime; a container pool needs an image with container support, e.g. "
        "microsoft-dsvm/ubuntu-hpc/2204 (node agent 'batch.node.ubuntu 22.04')"
    ]


def test_gpu_options_need_a_gpu_size(tmp_path: Path) -> None:
    gpu = '{image: busybox, run_options: "--gpus all"}'
    path = container_spec(tmp_path, task_container=gpu)
    assert messages(path) == [
        "$.job.tasks[0].container_settings.run_options: GPU options need a VM size with GPUs "
        "(the N-series: standard_nc*, standard_nd*, standard_ng*, standard_nv*); "
        "standard_d2s_v3 has none"
    ]
    again = tmp_path / "gpu"
    again.mkdir()
    plan = plan_of(container_spec(again, vm_size="Standard_NC6s_v3", task_container=gpu))
    assert plan.tasks[0].container_settings is not None
    assert plan.tasks[0].container_settings.run_options == "--gpus all"


def test_run_options_that_do_not_split_are_refused(tmp_path: Path) -> None:
    path = container_spec(tmp_path, task_container='{image: busybox, run_options: "-e \'A=1"}')
    [message] = messages(path)
    assert message.startswith("$.job.tasks[0].container_settings.run_options: task 0 (item ")
    assert message.endswith(
        'the run options "-e \'A=1" do not split into arguments (No closing quotation)'
    )


def test_a_password_cannot_be_written_in_the_spec(tmp_path: Path) -> None:
    pool = POOL_CONTAINERS.replace("password_env: REG_PASSWORD", "password: hunter2hunter2")
    path = container_spec(tmp_path, pool_containers=pool)
    result = CliRunner().invoke(main, ["validate", str(path)])
    assert result.exit_code == 1
    assert "unknown key 'password'" in result.output
    assert "hunter2hunter2" not in result.output


def test_a_registry_signs_in_one_way_only(tmp_path: Path) -> None:
    pool = POOL_CONTAINERS.replace(
        "identity: /subscriptions/0/rg/id", "identity: /subscriptions/0/rg/id, username: x"
    )
    result = CliRunner().invoke(
        main, ["validate", str(container_spec(tmp_path, pool_containers=pool))]
    )
    assert result.exit_code == 1
    assert "'identity' and 'username' cannot be used together; choose one" in result.output


def test_the_container_example_validates_and_plans_for_azure() -> None:
    spec = REPO / "specs" / "topn-container.yaml"
    result = CliRunner().invoke(main, ["validate", str(spec)])
    assert result.exit_code == 0, result.output
    shown = CliRunner().invoke(main, ["plan", "--format", "json", str(spec)])
    assert shown.exit_code == 0, shown.output
    data = json.loads(shown.stdout)
    assert data["pool"]["container_configuration"]["container_image_names"] == ["python:3.12-slim"]
    assert {t["container_settings"]["image_name"] for t in data["tasks"]} == {"python:3.12-slim"}


def test_plan_and_local_service_agree_on_which_images_run_containers() -> None:
    from batchspec.emulator.service.images import listed_images
    from batchspec.plan.containers import CONTAINER_IMAGES, IMAGES_WITHOUT_CONTAINERS

    for publisher, offer, containers in listed_images():
        known = CONTAINER_IMAGES if containers else IMAGES_WITHOUT_CONTAINERS
        assert (publisher, offer) in known, (publisher, offer)
