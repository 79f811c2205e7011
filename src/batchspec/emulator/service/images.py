"""The supported images the emulator offers: a short list of real, current verified Linux images.

Every one runs tasks the same way here (as processes on this machine); the list exists so that a
pool's imageReference/nodeAgentSKUId pair is checked as Batch checks it. The images Batch
documents for container workloads carry the `DockerCompatible` capability, here only while the
service has a container engine to run them with (see service/containers.py).
"""

from __future__ import annotations

from batchspec.emulator.service.values import Doc

CONTAINER_CAPABILITY = "DockerCompatible"
# (publisher, offer) of the images with a container runtime (Docker/Moby) installed.
_CONTAINER_IMAGES = frozenset(
    {
        ("microsoft-dsvm", "ubuntu-hpc"),
        ("almalinux", "almalinux-hpc"),
        ("microsoft-azure-batch", "ubuntu-server-container"),
    }
)

_IMAGES: tuple[tuple[str, str, str, str], ...] = (
    ("canonical", "ubuntu-24_04-lts", "server", "batch.node.ubuntu 24.04"),
    ("canonical", "0001-com-ubuntu-server-jammy", "22_04-lts", "batch.node.ubuntu 22.04"),
    ("microsoft-dsvm", "ubuntu-hpc", "2204", "batch.node.ubuntu 22.04"),
    ("almalinux", "almalinux-hpc", "8_7-hpc-gen2", "batch.node.el 8"),
    ("debian", "debian-12", "12", "batch.node.debian 12"),
    ("microsoft-azure-batch", "ubuntu-server-container", "20-04-lts", "batch.node.ubuntu 20.04"),
)


def supported_images(containers: bool = False) -> list[Doc]:
    """The images as `GET /supportedimages` returns them; `containers`: an engine is here."""
    return [
        {
            "nodeAgentSKUId": agent,
            "imageReference": {"publisher": pub, "offer": offer, "sku": sku, "version": "latest"},
            "verificationType": "verified",
            "capabilities": [CONTAINER_CAPABILITY]
            if containers and (pub, offer) in _CONTAINER_IMAGES
            else [],
            "osType": "linux",
        }
        for pub, offer, sku, agent in _IMAGES
    ]


def check_image(image: Doc, agent: str) -> str | None:
    """None when (publisher, offer, sku) with this node agent is supported, else the reason."""
    key = (
        str(image.get("publisher", "")).lower(),
        str(image.get("offer", "")).lower(),
        str(image.get("sku", "")).lower(),
    )
    agents = {a for p, o, s, a in _IMAGES if (p, o, s) == key}
    if not agents:
        return "The specified image reference is not supported by the local Batch service."
    if agent not in agents:
        return (
            f"The node agent SKU '{agent}' does not match the image; use one of {sorted(agents)}."
        )
    return None


def supports_containers(image: Doc) -> bool:
    """Whether the image is one with a container runtime."""
    key = (str(image.get("publisher", "")).lower(), str(image.get("offer", "")).lower())
    return key in _CONTAINER_IMAGES


def listed_images() -> list[tuple[str, str, bool]]:
    """(publisher, offer, has containers) of every listed image, for checks elsewhere."""
    return [(p, o, (p, o) in _CONTAINER_IMAGES) for p, o, _s, _a in _IMAGES]
