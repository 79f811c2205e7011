"""Human durations (`30s`, `20m`, `1h30m`, `1d`) as whole seconds."""

from __future__ import annotations

import re

_DURATION = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
_UNIT_SECONDS = (86_400, 3_600, 60, 1)


def parse_duration(text: str) -> int:
    """`1h30m` -> 5400. Raises ValueError for anything the spec format does not allow."""
    match = _DURATION.match(text)
    if not text or match is None:
        raise ValueError(f"{text!r} is not a duration such as 30s, 20m, 2h, 1d or 1h30m")
    return sum(
        int(part) * unit for part, unit in zip(match.groups(), _UNIT_SECONDS, strict=True) if part
    )


def format_duration(seconds: int) -> str:
    """5400 -> `1h30m`; the inverse of `parse_duration` for display."""
    if seconds == 0:
        return "0s"
    out = ""
    for unit, suffix in zip(_UNIT_SECONDS, "dhms", strict=True):
        count, seconds = divmod(seconds, unit)
        if count:
            out += f"{count}{suffix}"
    return out
