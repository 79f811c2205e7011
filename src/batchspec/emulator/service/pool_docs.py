"""What Batch checks in a pool body beyond its types, and the defaults it fills in.

Recorded answers of Azure Batch (tests/emulator/conformance/recordings) show the defaults:
`taskSchedulingPolicy.jobDefaultOrder` "none", `nodeFillType` capitalised, an image `version`
"latest", data disks with caching "none" and a standard_lrs managed disk, network
configurations with `dynamicVNetAssignmentScope` "none", `enableAcceleratedNetworking` false and
network security group rules open to every source port.
"""

from __future__ import annotations

import re
from typing import Any

from batchspec.emulator.service import errors
from batchspec.emulator.service.images import check_image
from batchspec.emulator.service.mounts import check_mounts
from batchspec.emulator.service.values import Doc

# The subscription of the local Batch account: a subnet must be in it, as on Batch.
LOCAL_SUBSCRIPTION = "5a5ec7a1-0ca1-4ba7-c4e5-000000000001"

_SUBNET = re.compile(
    r"^/subscriptions/(?P<sub>[^/]+)/resourceGroups/[^/]+/providers/Microsoft\.Network"
    r"/virtualNetworks/[^/]+/subnets/[^/]+$",
    re.IGNORECASE,
)
_IMAGE_ID = re.compile(
    r"^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.Compute/"
    r"(images/[^/]+|galleries/[^/]+/images/[^/]+(/versions/[^/]+)?)$",
    re.IGNORECASE,
)
_IMAGE_ID_REASON = (
    "The specified resource id must be of the format /subscriptions/{subscriptionId}"
    "/resourceGroups/{resourceGroupName}/providers/Microsoft.Compute/images/{imageName}, "
    "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/"
    "Microsoft.Compute/galleries/{galleryName}/images/{galleryImageName}/versions/"
    "{galleryImageVersionName}, or /subscriptions/{subscriptionId}/resourceGroups/"
    "{resourceGroupName}/providers/Microsoft.Compute/galleries/{galleryName}/images/"
    "{galleryImageName}"
)
WINDOWS_REASON = (
    "Windows nodes cannot run on this machine: the local Batch service runs Linux images only "
    "(see docs/emulator.md, 'Not supported locally')."
)


def is_windows(vm: Doc) -> bool:
    """Whether a virtualMachineConfiguration asks for Windows nodes."""
    image = vm.get("imageReference") or {}
    agent = str(vm.get("nodeAgentSKUId", "")).lower()
    return (
        agent.startswith("batch.node.windows")
        or "windows" in str(image.get("publisher", "")).lower()
        or vm.get("windowsConfiguration") is not None
    )


def check_pool_rules(body: Doc, vm: Doc) -> None:
    """Batch's checks of a pool body (400 InvalidPropertyValue), then the local limits."""
    if body.get("certificateReferences"):
        raise errors.certificate_retired()
    subnet = (body.get("networkConfiguration") or {}).get("subnetId")
    if subnet is not None:
        m = _SUBNET.match(str(subnet))
        if not m:
            raise errors.invalid_property("subnetId", subnet, "The subnetId is not a subnet id.")
        if m.group("sub").lower() != LOCAL_SUBSCRIPTION:
            raise errors.invalid_property(
                "subnetId",
                subnet,
                "The specified subnetId is in a different subscription and cannot be used with "
                f"the current Batch account in subscription {LOCAL_SUBSCRIPTION}",
            )
    image = vm.get("imageReference") or {}
    image_id = image.get("virtualMachineImageId")
    if image_id is not None and not _IMAGE_ID.match(str(image_id)):
        raise errors.invalid_property("virtualMachineImageId", image_id, _IMAGE_ID_REASON)
    if body.get("cloudServiceConfiguration") or is_windows(vm):
        raise errors.local_limit(
            "virtualMachineConfiguration.nodeAgentSKUId", vm.get("nodeAgentSKUId"), WINDOWS_REASON
        )
    if image_id is not None:
        raise errors.local_limit(
            "virtualMachineConfiguration.imageReference.virtualMachineImageId",
            image_id,
            "Custom and gallery images are not available to the local Batch service.",
        )
    check_mounts(body.get("mountConfiguration"))
    reason = check_image(image, str(vm.get("nodeAgentSKUId", "")))
    if reason:
        raise errors.local_limit(
            "virtualMachineConfiguration.imageReference", image.get("offer"), reason
        )


def _capitalised(value: Any) -> Any:
    return value[:1].upper() + value[1:].lower() if isinstance(value, str) else value


def scheduling_policy(given: Any) -> Doc:
    """taskSchedulingPolicy as Batch echoes it."""
    policy = dict(given) if isinstance(given, dict) else {}
    return {
        **policy,
        "nodeFillType": _capitalised(policy.get("nodeFillType") or "spread"),
        "jobDefaultOrder": policy.get("jobDefaultOrder") or "none",
    }


def vm_configuration(vm: Doc) -> Doc:
    """virtualMachineConfiguration with Batch's defaults."""
    out = dict(vm)
    image = dict(vm.get("imageReference") or {})
    image.setdefault("version", "latest")
    out["imageReference"] = image
    disks = []
    for disk in vm.get("dataDisks") or []:
        managed = dict(disk.get("managedDisk") or {})
        managed.setdefault("storageAccountType", disk.get("storageAccountType") or "standard_lrs")
        disks.append(
            {
                "lun": disk.get("lun"),
                "caching": disk.get("caching") or "none",
                "diskSizeGB": disk.get("diskSizeGB"),
                "managedDisk": managed,
            }
        )
    if disks:
        out["dataDisks"] = disks
    return out


def network_configuration(net: Doc) -> Doc:
    """networkConfiguration with Batch's defaults."""
    out = dict(net)
    out.setdefault("dynamicVNetAssignmentScope", "none")
    endpoint = out.get("endpointConfiguration")
    if isinstance(endpoint, dict):
        pools = []
        for nat in endpoint.get("inboundNATPools") or []:
            rules = [
                {**rule, "sourcePortRanges": rule.get("sourcePortRanges") or ["*"]}
                for rule in nat.get("networkSecurityGroupRules") or []
            ]
            pools.append({**nat, "networkSecurityGroupRules": rules} if rules else dict(nat))
        out["endpointConfiguration"] = {**endpoint, "inboundNATPools": pools}
    out.setdefault("enableAcceleratedNetworking", False)
    return out


def user_accounts(accounts: Any) -> list[Doc]:
    """userAccounts with their elevation level (the passwords stay stored, never answered)."""
    return [
        {**a, "elevationLevel": a.get("elevationLevel") or "nonadmin"}
        for a in accounts or []
        if isinstance(a, dict)
    ]
