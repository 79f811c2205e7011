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
