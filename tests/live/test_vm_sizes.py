"""VM size names read by Microsoft's naming convention, and Batch's task slot limit."""

from __future__ import annotations

import pytest

from batchspec.live.vm_sizes import parse_vm_size, unsupported_reason


@pytest.mark.parametrize(
    ("name", "family", "vcpus", "features"),
    [
        ("standard_d2s_v3", "D", 2, "s"),
        ("Standard_E8-4s_v5", "E", 4, "s"),
        ("Standard_NC24ads_A100_v4", "NC", 24, "ads"),
        ("Standard_D2ps_v5", "D", 2, "ps"),
        ("Standard_A1", "A", 1, ""),
        ("Standard_HB120rs_v3", "HB", 120, "rs"),
        ("Standard_M416ms_v2", "M", 416, "ms"),
        ("Standard_D2_v3_Promo", "D", 2, ""),
    ],
)
def test_names_give_family_vcpus_and_features(
    name: str, family: str, vcpus: int, features: str
) -> None:
    size = parse_vm_size(name)
    assert size is not None
    assert (size.family, size.vcpus, size.features) == (family, vcpus, features)


@pytest.mark.parametrize("name", ["foo", "standard_", "Standard_D0s_v3", "d2s_v3", "Standard_Dxs"])
def test_names_outside_the_convention_are_not_sizes(name: str) -> None:
    assert parse_vm_size(name) is None


@pytest.mark.parametrize(
    ("name", "limit"),
    [("standard_d2s_v3", 8), ("Standard_F16s_v2", 64), ("Standard_HB120rs_v3", 256)],
)
def test_task_slots_are_four_per_vcpu_up_to_256(name: str, limit: int) -> None:
    size = parse_vm_size(name)
    assert size is not None and size.max_task_slots() == limit


def test_the_sizes_batch_does_not_take_are_named() -> None:
    assert unsupported_reason("Standard_A0") is not None
    assert unsupported_reason("basic_a0") is not None
    assert unsupported_reason("Standard_A1") is None
    assert parse_vm_size("Standard_D2ps_v5").arm  # type: ignore[union-attr]
