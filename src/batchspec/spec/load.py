"""Load a spec file: bytes -> checked UTF-8 text -> plain data with the position of every value.

Files that are too large, hold NUL bytes or are not UTF-8 are refused here; YAML errors, the
nesting and alias limits and duplicate keys are found while reading the YAML
(`batchspec.spec.yaml_events`). Bad input of any kind comes back as located diagnostics, never
as an exception.
"""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

from batchspec.diagnostics import Diagnostic
from batchspec.spec.document import LoadedSpec
from batchspec.spec.yaml_events import diag, offset_mark, read_document

MAX_BYTES = 5 * 1024 * 1024
"""Larger files are refused unread: a spec is a few kilobytes."""


def load_spec(path: Path) -> LoadedSpec | list[Diagnostic]:
    """Read a spec file into plain data and a positions map, or located diagnostics."""
    name = str(path)
    try:
        raw, pipe = _read(path)
        if len(raw) > MAX_BYTES:
            return [diag(name, (1, 1), _too_large(path.stat().st_size))]
    except OSError as exc:
        return [diag(name, (1, 1), f"cannot read the file: {exc.strerror or exc}")]
    if pipe and not raw:
        return [diag(name, (1, 1), "the file is a named pipe that no program is writing to")]
    return _parse(path, raw)


STDIN_NAME = "<stdin>"


def load_stdin() -> LoadedSpec | list[Diagnostic]:
    """Read a spec from standard input; it is named `<stdin>` and sits in the current directory."""
    path = Path(STDIN_NAME)
    try:
        raw = sys.stdin.buffer.read(MAX_BYTES + 1)
    except (OSError, AttributeError, ValueError) as exc:
        return [diag(STDIN_NAME, (1, 1), f"cannot read standard input: {exc}")]
    if len(raw) > MAX_BYTES:
        return [diag(STDIN_NAME, (1, 1), _too_large(len(raw)))]
    return _parse(path, raw)


def _parse(path: Path, raw: bytes) -> LoadedSpec | list[Diagnostic]:
    name = str(path)
    text = _decode(name, raw)
    if isinstance(text, Diagnostic):
        return [text]
    document = read_document(name, text)
    if isinstance(document, list):
        return document
    data, positions = document
    return LoadedSpec(path=path, raw=raw, data=data, positions=positions)


_NONBLOCK: int = getattr(os, "O_NONBLOCK", 0)


def _read(path: Path) -> tuple[bytes, bool]:
    """At most MAX_BYTES + 1 bytes of `path`, and whether it is a named pipe."""
    # Opening a named pipe waits until some program opens it for writing, forever if none
    # does; opened without blocking, a pipe with no writer reads as empty instead. Windows has
    # no O_NONBLOCK (nor such pipes), and needs O_BINARY for the bytes as they are.
    fd = os.open(path, os.O_RDONLY | _NONBLOCK | getattr(os, "O_BINARY", 0))
    try:
        if _NONBLOCK:
            os.set_blocking(fd, True)
        pipe = stat.S_ISFIFO(os.fstat(fd).st_mode)
        with open(fd, "rb", closefd=False) as fh:
            return fh.read(MAX_BYTES + 1), pipe
    finally:
        os.close(fd)


def _too_large(size: int) -> str:
    limit = f"a spec may be at most {MAX_BYTES // (1024 * 1024)} MB ({MAX_BYTES:,} bytes)"
    if size > MAX_BYTES:
        return f"the file is {size:,} bytes; {limit}"
    return f"the file holds more than {MAX_BYTES:,} bytes; {limit}"  # a device or a pipe


def _decode(name: str, raw: bytes) -> str | Diagnostic:
    nul = raw.find(b"\0")
    if nul >= 0:
        return diag(
            name, offset_mark(raw, nul), "the file holds a NUL byte: a spec must be UTF-8 text"
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return diag(
            name,
            offset_mark(raw, exc.start),
            f"byte 0x{raw[exc.start]:02x} is not valid UTF-8: a spec must be UTF-8 text",
        )
    # Editors do not count a byte-order mark as a column; neither do the positions here.
    return text.removeprefix("\ufeff")
