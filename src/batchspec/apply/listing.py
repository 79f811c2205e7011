"""The listing `foreach: {blobs: ...}` factories expand over, made when apply runs.

A container is listed page by page (the service's own paging, `results_per_page` at its
maximum of 5,000), filtered by the prefix on the service and by the glob here, and only the
matching blobs' (name, size, ETag) are kept, so a large container streams past in bounded
memory; more matches than a job may have tasks stop the listing. The spec is then planned
again with what was found (`commands._load.plan_spec(..., listings=...)`): the tasks, and the
run id, come from that plan.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from azure.core.exceptions import AzureError, ResourceNotFoundError

from batchspec.errors import RunFailed
from batchspec.plan.listing import ListedBlob, Listing, ListingRequest, Listings
from batchspec.plan.model import Plan, RunInfo
from batchspec.plan.tasklist import MAX_TASKS

if TYPE_CHECKING:
    from azure.storage.blob import BlobServiceClient

    from batchspec.targets import Target

PAGE_SIZE = 5000
"""Blobs per List Blobs request: the service's maximum (`maxresults`)."""


def list_stored(
    service: BlobServiceClient, request: ListingRequest, limit: int = MAX_TASKS
) -> Listing:
    """The blobs of one request, in the service's (name) order; at most `limit` kept."""
    container = service.get_container_client(request.container)
    found: list[ListedBlob] = []
    scanned = 0
    pages = container.list_blobs(
        name_starts_with=request.prefix or None, results_per_page=PAGE_SIZE
    ).by_page()
    try:
        for page in pages:
            for blob in page:
                scanned += 1
                if not request.matches(blob.name):
                    continue
                if len(found) >= limit:
                    return Listing(request, tuple(found), truncated=True, scanned=scanned)
                found.append(ListedBlob(blob.name, int(blob.size or 0), str(blob.etag or "")))
    except ResourceNotFoundError:
        return Listing(request, missing=True)
    return Listing(request, tuple(found), scanned=scanned)


def list_plan(plan: Plan, service: BlobServiceClient) -> dict[ListingRequest, Listing]:
    """Every listing the plan's `blobs:` factories ask for (each request listed once)."""
    out: dict[ListingRequest, Listing] = {}
    for listing in plan.listings:
        if listing.request not in out:
            out[listing.request] = list_stored(service, listing.request)
    return out


def listed_plan(
    spec: Path,
    overrides: Mapping[str, str],
    plan: Plan,
    target: Target,
    *,
    outcome: str,
    run: RunInfo | None = None,
) -> tuple[Plan, Listings]:
    """`plan` made again with its listings (the same plan when it has no `blobs:` factory).

    A storage account that cannot be reached is RunFailed (exit 1) naming the container; a
    listing with nothing to run, or a container that does not exist, is a located spec error.
    """
    from batchspec.commands._load import plan_spec
    from batchspec.redact import describe_error

    if not plan.listings:
        return plan, {}
    service = target.blob_service()
    try:
        listings = list_plan(plan, service)
    except AzureError as exc:
        what = ", ".join(listing.request.describe() for listing in plan.listings)
        raise RunFailed(f"could not list the blobs in {what}: {describe_error(exc)}") from None
    finally:
        service.close()
    return plan_spec(spec, overrides, run, outcome=outcome, listings=listings), listings


def listing_summary(plan: Plan) -> list[str]:
    """One line per listed factory, as apply and plan --refresh say it."""
    lines = []
    for listing in plan.listings:
        if listing.count is None:
            continue
        first = ", ".join(listing.first_ids)
        more = ", ..." if listing.count > len(listing.first_ids) else ""
        lines.append(
            f"listed {listing.count:,} blob(s) in {listing.request.describe()}: tasks {first}{more}"
        )
    return lines
