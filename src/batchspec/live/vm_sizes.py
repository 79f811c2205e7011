"""Azure VM size names, read by Microsoft's naming convention, and Batch's task slot limit.

Batch's data plane has no call that lists VM sizes, so the vCPU count comes from the name:
`[Family] + [Sub-family]* + [# of vCPUs] + [Constrained vCPUs]* + [Additive features] +
[Accelerator type]* + [Version]` (learn.microsoft.com/azure/virtual-machines/vm-naming-conventions),
e.g. Standard_D8s_v5 is family D with 8 vCPUs. A constrained-core size (Standard_E8-4s_v5)
keeps the first number's memory and runs the second number's vCPUs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Batch's REST spec (Azure/azure-rest-api-specs, specification/batch, PoolAddParameter
# taskSlotsPerNode): "The maximum value is the smaller of 4 times the number of cores of the
# vmSize of the pool or 256."
MAX_TASK_SLOTS = 256
SLOTS_PER_CORE = 4

# Sizes the Batch documentation lists as not supported in pools of the Virtual Machine
# configuration (MicrosoftDocs/azure-docs articles/batch/batch-pool-vm-sizes.md): Basic_A0, and
# the A series' Standard_A0 and Standard_A8 to A11.
UNSUPPORTED = frozenset(
    {"basic_a0", "standard_a0", "standard_a8", "standard_a9", "standard_a10", "standard_a11"}
)

_NAME = re.compile(
    r"^(?P<tier>standard|basic)_"
    r"(?P<family>[a-z]{1,3}?)"
    r"(?P<vcpus>\d+)"
    r"(?:-(?P<constrained>\d+))?"
    r"(?P<features>[a-z]*)"
    r"(?:_(?P<accelerator>[a-z0-9]+?))?"
    r"(?:_v(?P<version>\d+))?"
    r"(?:_promo)?$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class VmSize:
    """What a VM size's name says about it."""

    name: str
    family: str
    vcpus: int
    """The vCPUs a task sees (the constrained count for a constrained-core size)."""
    features: str
    """Additive features, lowercase: `s` premium storage, `p` Arm, `a` AMD, `d` local disk…"""

    @property
    def arm(self) -> bool:
        """An Arm64 size (the `p` feature): it needs an arm64 image."""
        return "p" in self.features

    def max_task_slots(self) -> int:
        """Batch's limit on taskSlotsPerNode for a pool of this size."""
        return min(SLOTS_PER_CORE * self.vcpus, MAX_TASK_SLOTS)


def parse_vm_size(name: str) -> VmSize | None:
    """The size `name` describes, or None when it does not follow the naming convention."""
    match = _NAME.match(name.strip())
    if match is None:
        return None
    vcpus = int(match["constrained"] or match["vcpus"])
    if vcpus < 1:
        return None
    return VmSize(name, match["family"].upper(), vcpus, (match["features"] or "").lower())


def unsupported_reason(name: str) -> str | None:
    """Why Batch refuses this size for a pool, or None."""
    if name.strip().lower() in UNSUPPORTED:
        return f"Batch does not support {name} for pools of the Virtual Machine configuration"
    return None
