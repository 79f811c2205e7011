"""Container pools and tasks: the spec's settings as Batch receives them, and Batch's rules.

Batch's rules checked here, offline: a task (or StartTask) with container settings needs a pool
with a container configuration; a container pool needs an image with container support (where
that is known: the images below); GPU run options need a GPU VM size (Azure's N-series).
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from batchspec.plan.model import (
    ContainerConfigurationPlan,
    ContainerSettingsPlan,
    MountPlan,
    MountSource,
    RegistryPlan,
)
from batchspec.spec.model import (
    ContainerConfigurationSpec,
    ContainerSettingsSpec,
    PoolSpec,
    RegistrySpec,
    Spec,
)
from batchspec.spec.render import Compiled, Renderer

# Images Batch documents for container workloads (publisher, offer), lower-case; and images the
# local service lists that have no container runtime. An image in neither is not judged.
CONTAINER_IMAGES = frozenset(
    {
        ("microsoft-azure-batch", "ubuntu-server-container"),
        ("microsoft-azure-batch", "ubuntu-server-container-rdma"),
        ("microsoft-azure-batch", "centos-container"),
        ("microsoft-azure-batch", "centos-container-rdma"),
        ("microsoft-dsvm", "ubuntu-hpc"),
        ("almalinux", "almalinux-hpc"),
    }
)
IMAGES_WITHOUT_CONTAINERS = frozenset(
    {
        ("canonical", "ubuntu-24_04-lts"),
        ("canonical", "0001-com-ubuntu-server-jammy"),
        ("debian", "debian-12"),
    }
)
SUGGESTED_IMAGE = "microsoft-dsvm/ubuntu-hpc/2204 (node agent 'batch.node.ubuntu 22.04')"

# Every Azure VM size with a GPU is in the N-series: NC, ND, NG and NV families.
GPU_SIZE = re.compile(r"(?i)^standard_n[cdgv]")
GPU_SIZES_TEXT = "the N-series: standard_nc*, standard_nd*, standard_ng*, standard_nv*"
_GPU_OPTIONS = ("--gpus", "--runtime=nvidia", "nvidia.com/gpu")

_MOUNT_SOURCES: dict[str, MountSource] = {
    "shared": "Shared",
    "startup": "Startup",
    "task": "Task",
    "job_prep": "JobPrep",
    "applications": "Applications",
    "vfs_mounts": "VfsMounts",
}


@dataclass(frozen=True, slots=True)
class CompiledContainer:
    """A task's container settings with its templates (image, run options) compiled."""

    spec: ContainerSettingsSpec
    image: Compiled
    run_options: Compiled | None


def registry_plan(registry: RegistrySpec) -> RegistryPlan:
    """A registry as the plan holds it: the password stays in its environment variable."""
    return RegistryPlan(
        server=registry.server,
        username=registry.username,
        password_env=registry.password_env,
        identity_resource_id=registry.identity,
    )


def plan_container_configuration(
    renderer: Renderer, config: ContainerConfigurationSpec | None, context: Mapping[str, Any]
) -> ContainerConfigurationPlan | None:
    """The pool's `containerConfiguration` (image names are templates), or None without one."""
    if config is None:
        return None
    names = []
    for i, source in enumerate(config.images):
        where = (*config.where, "images", i)
        compiled = renderer.compile(source, where)
        name = None if compiled is None else renderer.render(compiled, context)
        if name is not None and (not name.strip() or any(c.isspace() for c in name.strip())):
            renderer.report(where, f"{name!r} is not an image name")
        names.append((name or "").strip())
    return ContainerConfigurationPlan(
        type="criCompatible" if config.type == "cri_compatible" else "dockerCompatible",
        image_names=tuple(names),
        registries=tuple(registry_plan(r) for r in config.registries),
    )


def compile_container(
    renderer: Renderer, settings: ContainerSettingsSpec | None
) -> CompiledContainer | None:
    """Compile a task's container templates; None without settings or on a syntax error."""
    if settings is None:
        return None
    image = renderer.compile(settings.image, (*settings.where, "image"))
    options = None
    if settings.run_options is not None:
        options = renderer.compile(settings.run_options, (*settings.where, "run_options"))
        if options is None:
            return None
    return None if image is None else CompiledContainer(settings, image, options)


def render_container(
    renderer: Renderer, compiled: CompiledContainer, context: Mapping[str, Any], what: str = ""
) -> ContainerSettingsPlan | None:
    """A task's `containerSettings` for one rendering context; None if a template fails."""
    image = renderer.render(compiled.image, context, what)
    options = None
    if compiled.run_options is not None:
        options = renderer.render(compiled.run_options, context, what)
        if options is None:
            return None
    if image is None:
        return None
    spec = compiled.spec
    if not image.strip() or any(c.isspace() for c in image.strip()):
        renderer.fail((*spec.where, "image"), what + f"{image!r} is not an image name")
        return None
    if options is not None:
        try:
            shlex.split(options)
        except ValueError as exc:
            renderer.fail(
                (*spec.where, "run_options"),
                what + f"the run options {options!r} do not split into arguments ({exc})",
            )
            return None
    return ContainerSettingsPlan(
        image_name=image.strip(),
        run_options=options or None,
        working_directory="containerImageDefault"
        if spec.working_directory == "image"
        else "taskWorkingDirectory",
        registry=None if spec.registry is None else registry_plan(spec.registry),
        mounts=None
        if spec.mounts is None
        else tuple(
            MountPlan(source=_MOUNT_SOURCES[m.source], read_only=m.read_only) for m in spec.mounts
        ),
    )


def check_containers(renderer: Renderer, spec: Spec) -> None:
    """Report where the spec breaks a rule Batch enforces for containers."""
    pool = spec.pool
    settings = [t.container_settings for t in spec.job.tasks]
    if pool.start_task is not None:
        settings.append(pool.start_task.container_settings)
    present = [s for s in settings if s is not None]
    if pool.container_configuration is None:
        for s in present:
            renderer.report(
                s.where,
                "container settings need a pool with a container configuration: add "
                "pool.container_configuration (Batch refuses a container task on this pool)",
            )
    else:
        _check_image(renderer, pool)
    for s in present:
        _check_gpu_options(renderer, pool, s)


def _check_image(renderer: Renderer, pool: PoolSpec) -> None:
    key = (pool.image.publisher.lower(), pool.image.offer.lower())
    if key in IMAGES_WITHOUT_CONTAINERS:
        image = pool.image
        renderer.report(
            ("pool", "container_configuration"),
            f"the image {image.publisher}/{image.offer}/{image.sku} has no container runtime; "
            f"a container pool needs an image with container support, e.g. {SUGGESTED_IMAGE}",
        )


def _check_gpu_options(renderer: Renderer, pool: PoolSpec, settings: ContainerSettingsSpec) -> None:
    options = settings.run_options or ""
    if GPU_SIZE.match(pool.vm_size) or not any(o in options for o in _GPU_OPTIONS):
        return
    renderer.report(
        (*settings.where, "run_options"),
        f"GPU options need a VM size with GPUs ({GPU_SIZES_TEXT}); {pool.vm_size} has none",
    )


def describe_registry(registry: RegistryPlan) -> str:
    """A registry for people: its server and how nodes sign in, never a password."""
    server = registry.server or "docker.io"
    if registry.identity_resource_id is not None:
        return f"{server} (identity {registry.identity_resource_id})"
    return f"{server} (user {registry.username}, password from ${registry.password_env})"


def describe_settings(settings: ContainerSettingsPlan) -> str:
    """A task's container settings on one line."""
    parts = [f"image {settings.image_name}", f"working directory {settings.working_directory}"]
    if settings.run_options:
        parts.append(f"run options {settings.run_options}")
    if settings.registry is not None:
        parts.append(f"registry {describe_registry(settings.registry)}")
    if settings.mounts is not None:
        mounts = [m.source + (" (read-only)" if m.read_only else "") for m in settings.mounts]
        parts.append("mounts " + (", ".join(mounts) or "none"))
    return "; ".join(parts)
