"""Checks a container plan needs before `apply` creates anything: passwords, and an engine.

A registry password comes from an environment variable when `apply` runs; a missing one stops
the run before the first container or blob exists. On the local target the local Batch service
runs container tasks in a container engine of this machine; the service lists its supported
images with Batch's `DockerCompatible` capability only when it has one, so `apply` asks it first.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from azure.batch import BatchClient
from azure.core.exceptions import AzureError

from batchspec.apply.batch_models import MissingRegistryPassword, registries_of, registry_reference
from batchspec.plan.model import Plan
from batchspec.redact import describe_error

CONTAINER_CAPABILITY = "DockerCompatible"
ENGINE_HINT = (
    "install Podman (Debian/Ubuntu: `apt-get install podman runc`) or Docker, then restart "
    "the local services: `batchspec local down && batchspec local up`"
)


def container_problem(
    plan: Plan, batch: BatchClient | None, environ: Mapping[str, str] | None = None
) -> str | None:
    """Why the plan's containers cannot run on this target, or None.

    `batch` is the local service's client (None on Azure, where Batch itself decides).
    """
    if plan.pool.container_configuration is None:
        return None
    env = os.environ if environ is None else environ
    for registry in registries_of(plan):
        try:
            registry_reference(registry, env)
        except MissingRegistryPassword as exc:
            return str(exc)
    if batch is None:
        return None
    image = plan.pool.image
    wanted = (image.publisher.lower(), image.offer.lower(), image.sku.lower())
    try:
        images = list(batch.list_supported_images())
    except AzureError as exc:
        return f"could not ask the local Batch service about containers: {describe_error(exc)}"
    for supported in images:
        ref = supported.image_reference
        found = (
            (ref.publisher or "").lower(),
            (ref.offer or "").lower(),
            (ref.sku or "").lower(),
        )
        if found == wanted and CONTAINER_CAPABILITY not in (supported.capabilities or []):
            return (
                f"pool {plan.pool.id} runs containers, but the local Batch service has no "
                f"container engine for image {image.publisher}/{image.offer}/{image.sku}: "
                + ENGINE_HINT
            )
    return None
