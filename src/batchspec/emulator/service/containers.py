"""Batch's rules for container pools and container tasks, and keeping registry passwords private.

A pool's containerConfiguration needs a known type, image names and registries that sign in one
way; on this service it also needs a container engine on this machine (the service says how to
install one) and an image Batch lists with container support. A task's containerSettings needs
an image name. Passwords are kept for the engine but never answered.
"""

from __future__ import annotations

import shlex
from typing import Any

from batchspec.emulator.service.errors import invalid_property, missing_property
from batchspec.emulator.service.images import supports_containers
from batchspec.emulator.service.runtime import Live
from batchspec.emulator.service.values import Doc

TYPES = ("dockerCompatible", "criCompatible")
WORKING_DIRECTORIES = ("taskWorkingDirectory", "containerImageDefault")
MOUNT_SOURCES = ("Shared", "Startup", "VfsMounts", "Task", "JobPrep", "Applications")
_CONFIG = "virtualMachineConfiguration.containerConfiguration"


def check_pool(vm: Doc) -> None:
    """Validate a pool's containerConfiguration (if any), as pool create does."""
    config = vm.get("containerConfiguration")
    if config is None:
        return
    if not isinstance(config, dict):
        raise invalid_property(_CONFIG, config)
    kind = config.get("type")
    if kind is None:
        raise missing_property(f"{_CONFIG}.type")
    if kind not in TYPES:
        raise invalid_property(f"{_CONFIG}.type", kind)
    names = config.get("containerImageNames") or []
    if not isinstance(names, list) or not all(isinstance(n, str) and n.strip() for n in names):
        raise invalid_property(f"{_CONFIG}.containerImageNames", names)
    registries = config.get("containerRegistries") or []
    if not isinstance(registries, list):
        raise invalid_property(f"{_CONFIG}.containerRegistries", registries)
    for i, registry in enumerate(registries):
        _check_registry(registry, f"{_CONFIG}.containerRegistries[{i}]")
    image = vm.get("imageReference") or {}
    if not supports_containers(image):
        raise invalid_property(
            f"{_CONFIG}",
            "set",
            f"The image {image.get('publisher')}/{image.get('offer')}/{image.get('sku')} has no "
            "container support; use one whose supported image lists DockerCompatible.",
        )


def check_engine(live: Live, pool: Doc) -> None:
    """A container pool needs a container engine on this machine (the message says how)."""
    vm = pool.get("virtualMachineConfiguration") or {}
    if vm.get("containerConfiguration") is None:
        return
    problem = live.container_problem()
    if problem is not None:
        raise invalid_property(_CONFIG, "set", problem)


def check_settings(settings: Any, prefix: str) -> None:
    """Validate a task's (or StartTask's) containerSettings."""
    if settings is None:
        return
    where = f"{prefix}containerSettings"
    if not isinstance(settings, dict):
        raise invalid_property(where, settings)
    name = settings.get("imageName")
    if not isinstance(name, str) or not name.strip():
        raise missing_property(f"{where}.imageName")
    directory = settings.get("workingDirectory")
    if directory is not None and directory not in WORKING_DIRECTORIES:
        raise invalid_property(f"{where}.workingDirectory", directory)
    options = settings.get("containerRunOptions")
    if options is not None:
        try:
            shlex.split(str(options))
        except ValueError:
            raise invalid_property(f"{where}.containerRunOptions", options) from None
    for i, mount in enumerate(settings.get("containerHostBatchBindMounts") or []):
        if not isinstance(mount, dict) or mount.get("source") not in MOUNT_SOURCES:
            raise invalid_property(f"{where}.containerHostBatchBindMounts[{i}]", mount)
    if settings.get("registry") is not None:
        _check_registry(settings["registry"], f"{where}.registry")


def _check_registry(registry: Any, where: str) -> None:
    if not isinstance(registry, dict):
        raise invalid_property(where, registry)
    identity = registry.get("identityReference")
    if identity is not None:
        if not isinstance(identity, dict) or not identity.get("resourceId"):
            raise missing_property(f"{where}.identityReference.resourceId")
        return
    if not registry.get("username"):
        raise missing_property(f"{where}.username")
    if not registry.get("password"):
        raise missing_property(f"{where}.password")


def without_passwords(value: Any) -> Any:
    """`value` with every registry password left out: a password goes in, never out."""
    if isinstance(value, dict):
        return {
            k: without_passwords(v)
            for k, v in value.items()
            if not (k == "password" and ("registryServer" in value or "username" in value))
        }
    if isinstance(value, list):
        return [without_passwords(v) for v in value]
    return value
