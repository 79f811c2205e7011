"""Conditional requests: If-Match / If-None-Match against an entity's ETag, If-Modified-Since /
If-Unmodified-Since against its last modification (412 ConditionNotMet; 304 on a read).

The SDK sends these on gets and on every write of a pool, job or task (`etag` with
`match_condition`, `if_modified_since`, `if_unmodified_since`). The API layer reads the headers
into a `Conditions`; the service checks it against the entity the operation acts on.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from batchspec.emulator.service import errors
from batchspec.emulator.service.values import Doc, parse_iso


@dataclass(frozen=True)
class Conditions:
    """The conditional headers of one request (None where absent)."""

    reading: bool = False
    if_match: str | None = None
    if_none_match: str | None = None
    modified_since: dt.datetime | None = None
    unmodified_since: dt.datetime | None = None

    def check(self, doc: Doc) -> None:
        """Raise 412 (or 304 on a read) when the entity does not meet the conditions."""
        etag = str(doc.get("eTag", ""))
        if self.if_match and self.if_match != "*" and self.if_match.strip('"') != etag:
            raise errors.condition_not_met()
        none_match = self.if_none_match
        if none_match and (none_match == "*" or none_match.strip('"') == etag):
            # A read of an unchanged entity is "not modified"; a write is a failed precondition.
            if self.reading:
                raise errors.not_modified()
            raise errors.condition_not_met()
        if not (self.modified_since or self.unmodified_since) or not doc.get("lastModified"):
            return
        # HTTP dates have whole seconds: compare at that precision.
        changed = parse_iso(doc["lastModified"]).replace(microsecond=0)
        if self.unmodified_since and changed > self.unmodified_since:
            raise errors.condition_not_met()
        if self.modified_since and changed <= self.modified_since:
            if self.reading:
                raise errors.not_modified()
            raise errors.condition_not_met()


NONE = Conditions()
