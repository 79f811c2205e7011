"""Ownership marks: metadata on the containers, pool and job a run creates, naming who made them.

The journal says what a run created on this machine; the mark says it where any machine can
see it. It holds the owner (a digest of the host, the spec's path, the target and the data
directory: one checkout), the run id and, for people, the origin (`host:/path/to/spec.yaml`).

Clean-up deletes a resource only when a run of this spec created it: this run (the journal says
`created`) or an earlier run from the same checkout (its mark names this owner). A container
that held data before, or a pool another spec made, carries no such mark and is kept. A job
whose mark names another owner belongs to another checkout applying the same content: apply
refuses to take it over.

Names use underscores: Blob Storage takes only C# identifiers as metadata names.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal
from urllib.parse import quote, unquote

from azure.batch import models as bm

OWNER_KEY = "batchspec_owner"
RUN_KEY = "batchspec_run"
ORIGIN_KEY = "batchspec_origin"


@dataclass(frozen=True)
class Mark:
    """Who created a resource: a checkout (owner), one of its runs, and where it is."""

    owner: str
    run_id: str
    origin: str

    def metadata(self) -> dict[str, str]:
        """Blob container metadata (header values: the origin is percent-encoded)."""
        return {OWNER_KEY: self.owner, RUN_KEY: self.run_id, ORIGIN_KEY: quote(self.origin)}

    def batch_metadata(self) -> list[bm.BatchMetadataItem]:
        """The same mark as Batch pool or job metadata."""
        return [bm.BatchMetadataItem(name=k, value=v) for k, v in self.metadata().items()]

    def describe(self) -> str:
        """`run 43ad8dec from host:/path/spec.yaml`."""
        return f"run {self.run_id} from {self.origin}"


def read_mark(metadata: Mapping[str, str] | None) -> Mark | None:
    """The mark in a resource's metadata, or None when batchspec did not create it."""
    if not metadata:
        return None
    lowered = {k.lower(): v for k, v in metadata.items()}
    owner = lowered.get(OWNER_KEY)
    if not owner:
        return None
    return Mark(owner, lowered.get(RUN_KEY, "?"), unquote(lowered.get(ORIGIN_KEY, "?")))


def read_batch_mark(items: Sequence[bm.BatchMetadataItem] | None) -> Mark | None:
    """The mark in a pool's or job's metadata list."""
    return read_mark({item.name: item.value for item in items or []})


def judge(
    before: Literal["creating", "created", "found"] | None, found: Mark | None, mine: Mark
) -> Literal["created", "found"]:
    """Whether an existing resource is this run's: the journal says it created it, or it was
    about to and the mark says this very run did (its answer was lost, or a kill came first)."""
    if before == "created" or (found is not None and found == mine):
        return "created"
    return "found"


def origin(found: Mark | None, mine: Mark) -> str:
    """Who made a resource a run found, in words."""
    if found is None:
        return "it existed before this run and is never deleted by it"
    if found.owner == mine.owner:
        return f"made by an earlier run of this spec, {found.describe()}"
    return f"made by {found.describe()}; never deleted by this spec"
