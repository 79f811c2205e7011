"""Sizes for people: `523 bytes`, `1.2 KiB`, `3.4 GiB` (machine output keeps exact bytes)."""

from __future__ import annotations

_UNITS = ("KiB", "MiB", "GiB", "TiB", "PiB")


def human_size(size: int) -> str:
    """A byte count in binary units with one decimal place; below 1 KiB, exact bytes."""
    if size < 1024:
        return f"{size} byte" if size == 1 else f"{size} bytes"
    value = float(size)
    for unit in _UNITS:
        value /= 1024
        # Round first, so 1023.96 KiB reads 1.0 MiB rather than 1024.0 KiB.
        if round(value, 1) < 1024 or unit == _UNITS[-1]:
            return f"{value:.1f} {unit}"
    raise AssertionError("unreachable")
