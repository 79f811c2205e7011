"""The image and size checks on hand-built plans and supported-image lists."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from azure.batch import models as bm

from apply.handmade_plans import topn_like_plan
from batchspec.live.preflight import Problem, image_problems, located, size_problems
from batchspec.plan.model import ImagePlan


def _supported(*entries: tuple[str, str, str, str]) -> list[bm.BatchSupportedImage]:
    return [
        bm.BatchSupportedImage(
            node_agent_sku_id=agent,
            image_reference=bm.BatchVmImageReference(publisher=p, offer=o, sku=s),
            os_type="linux",
            verification_type="verified",
        )
        for p, o, s, agent in entries
    ]


IMAGES = _supported(
    ("canonical", "ubuntu-24_04-lts", "server", "batch.node.ubuntu 24.04"),
    ("canonical", "0001-com-ubuntu-server-jammy", "22_04-lts", "batch.node.ubuntu 22.04"),
)


def test_a_supported_image_with_its_agent_passes_whatever_the_case() -> None:
    image = ImagePlan(
        "Canonical", "Ubuntu-24_04-LTS", "server", "latest", "batch.node.ubuntu 24.04"
    )
    assert image_problems(image, IMAGES) == []


def test_another_images_agent_is_refused_with_the_right_one() -> None:
    image = ImagePlan(
        "canonical", "ubuntu-24_04-lts", "server", "latest", "batch.node.ubuntu 22.04"
    )
    assert image_problems(image, IMAGES) == [
        Problem(
            ("pool", "image", "node_agent"),
            "node agent 'batch.node.ubuntu 22.04' does not go with image "
            "'canonical ubuntu-24_04-lts server': use 'batch.node.ubuntu 24.04'",
        )
    ]


def test_an_unknown_image_is_refused_at_its_offer() -> None:
    image = ImagePlan("canonical", "ubuntu-99", "server", "latest", "batch.node.ubuntu 24.04")
    [problem] = image_problems(image, IMAGES)
    assert problem.path == ("pool", "image", "offer")


def test_sizes_and_slots(tmp_path: Path) -> None:
    plan = topn_like_plan(tmp_path)
    pool = dataclasses.replace(plan.pool, vm_size="standard_d2s_v3", task_slots_per_node=9)
    [slots] = size_problems(dataclasses.replace(plan, pool=pool))
    assert slots.path == ("pool", "task_slots_per_node")
    assert "at most 8" in slots.message
    for name in ("Standard_A0", "nonsense", "Standard_D2ps_v5"):
        bad = dataclasses.replace(plan, pool=dataclasses.replace(pool, vm_size=name))
        assert next(p.path for p in size_problems(bad)) == ("pool", "vm_size"), name


def test_problems_are_located_in_the_spec_and_sorted(tmp_path: Path) -> None:
    spec = tmp_path / "s.yaml"
    spec.write_text("batchspec: 1\npool:\n  id: p\n  vm_size: x\n")
    found = located(spec, [Problem(("pool", "vm_size"), "b"), Problem(("pool", "id"), "a")])
    assert [str(d) for d in found] == [
        f"{spec}:3:3: $.pool.id: a",
        f"{spec}:4:3: $.pool.vm_size: b",
    ]
