"""How `plan` shows task templates over blobs already in storage (`foreach: {blobs: ...}`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from batchspec.plan.listing import ListingPlan
from batchspec.plan.model import Plan, TaskPlan


def run_line(plan: Plan) -> str | None:
    """Under the run id of a plan made without its listings: that id is not apply's."""
    if not plan.unlisted:
        return None
    return (
        "  the run id (and every name made from it) also depends on the blobs listed when "
        "apply runs; `plan --refresh` lists them now"
    )


def listing_lines(
    plan: Plan, task_lines: Callable[[Plan, TaskPlan], Iterator[str]]
) -> Iterator[str]:
    """One paragraph per `blobs:` template: what it lists, and the count once listed."""
    for listing in plan.listings:
        where = f"job.tasks[{listing.template}]"
        what = listing.request.describe()
        if listing.count is not None:
            first = ", ".join(listing.first_ids)
            more = "" if listing.count <= len(listing.first_ids) else ", ..."
            yield (
                f"  {where}: {listing.count:,} task(s), one per blob listed now in {what}: "
                f"{first}{more} (apply lists the container again when it runs)"
            )
            continue
        yield (
            f"  {where}: one task per blob in {what}, from a listing made when apply runs "
            "(validate and plan cannot know how many); `plan --refresh` lists them now"
        )
        if listing.example is not None:
            yield f"    a blob named {listing.example_blob} would give the task:"
            for text in task_lines(plan, listing.example):
                yield "  " + text


def listings_json(
    plan: Plan, task_json: Callable[[Plan, TaskPlan], dict[str, Any]]
) -> list[dict[str, Any]]:
    """The `listings` of the JSON plan."""
    return [_listing_json(plan, listing, task_json) for listing in plan.listings]


def _listing_json(
    plan: Plan, listing: ListingPlan, task_json: Callable[[Plan, TaskPlan], dict[str, Any]]
) -> dict[str, Any]:
    request = listing.request
    return {
        "template": listing.template,
        "container": listing.container_key,
        "container_name": request.container,
        "prefix": request.prefix,
        "match": request.match,
        "listed": listing.listed,
        "count": listing.count,
        "first_ids": list(listing.first_ids),
        "example_blob": listing.example_blob,
        "example": None if listing.example is None else task_json(plan, listing.example),
    }
