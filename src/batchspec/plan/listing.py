"""Factories over blobs already in storage: what is listed, what a listing holds, and its digest.

`foreach: {blobs: ...}` cannot be expanded from the spec alone: its tasks come from a listing of
a container made when `apply` runs (and by `plan --refresh`). This module is the pure half of
that: the request a plan names, the listing the SDK code (`apply.listing`) fills in, the
digest that makes the listing part of the run's identity, and the stand-in blob an offline
plan checks the templates with. No Azure import here.
"""

from __future__ import annotations

import fnmatch
import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from batchspec.plan.model import TaskPlan

SAMPLE_STEM = "example"
"""The stem of the stand-in blob an offline plan renders the templates with."""
_WILDCARD = re.compile(r"[*?\[]")


class ListedBlob(NamedTuple):
    """One blob of a listing: small, as a listing may hold a million of them."""

    name: str
    size: int
    etag: str


@dataclass(frozen=True, slots=True)
class ListingRequest:
    """Which blobs a factory lists: a container (by its name), a name prefix, a glob."""

    container: str
    """The blob container's name (not its spec key)."""
    prefix: str = ""
    match: str | None = None
    """fnmatch glob on the whole blob name (`*` also matches `/`); None: every blob."""

    def describe(self) -> str:
        """`scan-data (prefix 'scans/', match '*.tif')`, for messages."""
        parts = [f"prefix {self.prefix!r}"] if self.prefix else []
        parts += [f"match {self.match!r}"] if self.match is not None else []
        return self.container + (f" ({', '.join(parts)})" if parts else "")

    def matches(self, name: str) -> bool:
        """Whether a listed blob (already under the prefix) is one of the factory's."""
        return self.match is None or fnmatch.fnmatchcase(name, self.match)


@dataclass(frozen=True, slots=True)
class Listing:
    """What a listing found: the matching blobs, in the service's (name) order."""

    request: ListingRequest
    blobs: tuple[ListedBlob, ...] = ()
    missing: bool = False
    """The container does not exist."""
    truncated: bool = False
    """More blobs matched than a job may have tasks; listing stopped there."""
    scanned: int = 0
    """Blobs under the prefix the service returned, matching or not."""


Listings = Mapping[ListingRequest, Listing]


@dataclass(frozen=True, slots=True)
class ListingPlan:
    """A task template whose tasks come from a listing, as the plan knows it."""

    template: int
    """Its index under job.tasks."""
    container_key: str
    request: ListingRequest
    count: int | None = None
    """Tasks made from the listing; None when the plan was made without one (offline)."""
    first_ids: tuple[str, ...] = ()
    """The first task ids, as apply makes them (listed plans only)."""
    example: TaskPlan | None = None
    """Offline: the task a stand-in blob gives (the real ones come from the listing)."""
    example_blob: str | None = None

    @property
    def listed(self) -> bool:
        return self.count is not None


def listing_digest(listing: Listing) -> str:
    """What decides the run: every matching blob's name and ETag (a rewritten blob has a new
    ETag, an added or removed blob changes the set), as `N blobs, sha256 <hex>`."""
    digest = hashlib.sha256()
    for blob in listing.blobs:
        digest.update(blob.name.encode("utf-8", "surrogatepass"))
        digest.update(b"\0")
        digest.update(blob.etag.encode())
        digest.update(b"\n")
    return f"{len(listing.blobs)} blobs, sha256 {digest.hexdigest()}"


def input_name(request: ListingRequest) -> str:
    """The listing's entry among the plan's inputs (shown by `plan` and `apply` as a change)."""
    return f"blobs listed in {request.describe()}"


NOT_LISTED = "listed when apply runs"
"""The input value of a listing an offline plan has not made."""


def listing_inputs(
    requests: Sequence[ListingRequest], listings: Listings | None
) -> tuple[tuple[str, str], ...]:
    """(name, digest) inputs of the listings, or a marker for each one not made."""
    out = {}
    for request in requests:
        listing = None if listings is None else listings.get(request)
        out[input_name(request)] = NOT_LISTED if listing is None else listing_digest(listing)
    return tuple(out.items())


def literal_head(pattern: str) -> str:
    """The text of a glob before its first wildcard."""
    found = _WILDCARD.search(pattern)
    return pattern if found is None else pattern[: found.start()]


def unclosed_bracket(pattern: str) -> int | None:
    """Where a `[` that opens no character class is (fnmatch would take it literally)."""
    i, n = 0, len(pattern)
    while i < n:
        if pattern[i] == "[":
            j = i + 1
            if j < n and pattern[j] == "!":
                j += 1
            if j < n and pattern[j] == "]":
                j += 1
            while j < n and pattern[j] != "]":
                j += 1
            if j >= n:
                return i
            i = j
        i += 1
    return None


def pattern_problem(prefix: str, match: str | None) -> str | None:
    """Why a factory's glob is refused (it could match no blob under the prefix), or None."""
    if match is None:
        return None
    at = unclosed_bracket(match)
    if at is not None:
        return (
            f"the pattern {match!r} has a '[' at character {at + 1} that opens no character "
            "class (no ']' after it); write '[[]' for a literal '['"
        )
    head = literal_head(match)
    if not (head.startswith(prefix) or prefix.startswith(head)):
        return (
            f"the pattern {match!r} can match no blob under the prefix {prefix!r}: it is "
            f"matched against the whole blob name, so it must start with the prefix "
            f"(e.g. {prefix + '*'!r})"
        )
    return None


def sample_blob(request: ListingRequest) -> str:
    """A plausible blob name under the prefix that the glob matches (`scans/example.tif`)."""
    prefix, match = request.prefix, request.match
    if match is None:
        return prefix + SAMPLE_STEM
    tail = _WILDCARD.split(match)[-1]
    for candidate in (prefix + SAMPLE_STEM + tail, _filled(match)):
        if candidate.startswith(prefix) and fnmatch.fnmatchcase(candidate, match):
            return candidate
    return _filled(match)


def _filled(pattern: str) -> str:
    """The glob with each wildcard replaced by text it matches."""
    out, i, n = [], 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == "*":
            out.append(SAMPLE_STEM)
        elif c == "?":
            out.append("x")
        elif c == "[" and unclosed_bracket(pattern[i:]) is None:
            j = pattern.index("]", i + 2 if pattern[i + 1 : i + 2] in ("]", "!") else i + 1)
            members = pattern[i + 1 : j]
            if members.startswith("!"):
                out.append("_" if "_" not in members else "~")
            else:
                out.append(members[0])
            i = j
        else:
            out.append(c)
        i += 1
    return "".join(out)
