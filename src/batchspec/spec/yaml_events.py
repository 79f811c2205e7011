"""YAML parser events -> plain data plus the position of every value, with input guards.

The document is built from the parser's event stream rather than from `yaml.compose`, because
the C composer recurses once per nesting level and crashes the interpreter on input nested
tens of thousands deep; walking events keeps one explicit stack, so the depth limit, the budget
on alias expansion and duplicate keys are all checked while reading, before any work is wasted.
"""

from __future__ import annotations

import json
import re
import sys
from typing import Any

import yaml

from batchspec.diagnostics import Diagnostic
from batchspec.spec.document import JsonPath

MAX_DEPTH = 64
"""Deepest nesting of mappings and lists; a spec needs about ten levels."""
MAX_VALUES = 1_000_000
"""Most values a document may hold once its aliases are expanded (an alias-bomb guard)."""

_Loader: type[Any] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_TAG = "tag:yaml.org,2002:"
_SCALAR_TAGS = {_TAG + t for t in ("str", "int", "float", "bool", "null")}
_MERGE = _TAG + "merge"
_TIMESTAMP = _TAG + "timestamp"

Mark = tuple[int, int]


class _Fatal(Exception):
    """Stops reading: the rest of the document cannot be trusted."""

    def __init__(self, mark: Mark, message: str, path: JsonPath | None = None) -> None:
        super().__init__(message)
        self.mark = mark
        self.message = message
        self.path = path
        """Where in the document, when the problem is a value's."""


class _Frame:
    """An open mapping or list on the builder's stack."""

    __slots__ = (
        "anchor",
        "discarding",
        "key",
        "key_mark",
        "merges",
        "path",
        "saved_path",
        "size",
        "start",
        "value",
    )

    def __init__(
        self, value: dict[str, Any] | list[Any], path: JsonPath | None, start: Mark, anchor: Any
    ) -> None:
        self.value = value
        # None while building a value that is thrown away (a duplicate key's): nothing under
        # it is recorded, so the first occurrence keeps its positions.
        self.path = path
        self.saved_path: JsonPath | None = None
        self.discarding = False
        self.start = start
        self.anchor: str | None = anchor
        self.size = 1
        self.key: str | None = None
        self.key_mark: Mark = start
        self.merges: list[tuple[Any, Mark]] = []


_YAML11_BREAKS = "\x85\u2028\u2029"


def _stand_ins(text: str) -> tuple[dict[int, str], dict[int, str]]:
    """Private-use characters to read NEL, U+2028 and U+2029 as YAML 1.2 does; and back.

    PyYAML follows YAML 1.1, where these three are line breaks; YAML 1.2 (and the editors'
    yaml-language-server) reads them as ordinary characters. A comment holding U+2028 then
    ended early for batchspec and hid a command from the editor, and every position after one
    was a line off. Each is swapped for a private-use character that the text does not hold
    (nor as an escape), which libyaml reads as content, and swapped back in every value.
    """
    present = [c for c in _YAML11_BREAKS if c in text]
    if not present:
        return {}, {}
    lowered = text.lower()
    free = (
        chr(code)
        for code in range(0xE000, 0xF900)
        if chr(code) not in text and f"{code:x}" not in lowered
    )
    forward = {ord(c): next(free) for c in present}
    return forward, {ord(v): chr(k) for k, v in forward.items()}


def read_document(
    name: str, text: str
) -> tuple[dict[str, Any], dict[JsonPath, Mark]] | list[Diagnostic]:
    """The mapping in `text` and the 1-based position of each value, or located diagnostics."""
    forward, back = _stand_ins(text)
    if forward:
        text = text.translate(forward)
    builder = _Builder(name, restore=back)
    result = builder.build(text)
    if _Loader is not yaml.SafeLoader and _hit_libyaml_depth_limit(result):
        # Newer libyaml stops at its own nesting limit while scanning ahead, before the
        # parser hands over the level past MAX_DEPTH; the Python parser gives the same
        # message and position whichever libyaml is installed.
        builder = _Builder(name, yaml.SafeLoader, restore=back)
        result = builder.build(text)
    if isinstance(result, list):
        return result
    return result, builder.positions


def _hit_libyaml_depth_limit(result: dict[str, Any] | list[Diagnostic]) -> bool:
    return isinstance(result, list) and any(
        "maximum nesting depth" in problem.message for problem in result
    )


_PLAIN_KEY = re.compile(r"[A-Za-z0-9_-]+")


def json_path(path: JsonPath) -> str:
    """`('pool', 'nodes', 0)` -> `$.pool.nodes[0]`; odd keys are quoted: `$.env["A B"]`."""
    out = "$"
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _PLAIN_KEY.fullmatch(part):
            out += f".{part}"
        else:
            out += f"[{json.dumps(part)}]"
    return out


def diag(name: str, mark: Mark, message: str, path: str = "$") -> Diagnostic:
    return Diagnostic(name, mark[0], mark[1], path, message)


def offset_mark(raw: bytes, offset: int) -> Mark:
    """1-based line and column (in characters) of a byte offset."""
    line_start = raw.rfind(b"\n", 0, offset) + 1
    col = len(raw[line_start:offset].decode("utf-8", errors="replace")) + 1
    return raw.count(b"\n", 0, offset) + 1, col


class _Builder:
    """Turns YAML parser events into plain data, recording positions as it goes."""

    def __init__(
        self, name: str, loader: type[Any] = _Loader, restore: dict[int, str] | None = None
    ) -> None:
        self.name = name
        self.restore = restore or {}
        self.loader_class = loader
        self.positions: dict[JsonPath, Mark] = {}
        self.problems: list[Diagnostic] = []
        self.anchors: dict[str, tuple[Any, int]] = {}
        self.stack: list[_Frame] = []
        self.values = 0
        self.documents = 0
        self.root: Any = None
        self.root_mark: Mark = (1, 1)
        self.loader: Any = None

    def build(self, text: str) -> dict[str, Any] | list[Diagnostic]:
        self.loader = self.loader_class(text)
        try:
            self._run()
        except _Fatal as fatal:
            at = "$" if fatal.path is None else json_path(fatal.path)
            self.problems.append(diag(self.name, fatal.mark, fatal.message, at))
            return sorted(self.problems)
        except yaml.MarkedYAMLError as exc:
            self.problems.append(_syntax_error(self.name, exc, text))
            return sorted(self.problems)
        except yaml.reader.ReaderError as exc:
            # libyaml reports a byte offset into the UTF-8 encoding of the text.
            where = offset_mark(text.encode("utf-8"), exc.position)
            message = f"character U+{exc.character:04X} is not allowed in YAML ({exc.reason})"
            self.problems.append(diag(self.name, where, message))
            return sorted(self.problems)
        except yaml.YAMLError as exc:
            self.problems.append(diag(self.name, (1, 1), f"YAML error: {exc}"))
            return sorted(self.problems)
        finally:
            self.loader.dispose()
        if self.problems:
            return sorted(self.problems)
        if self.documents == 0 or self.root is None:
            return [
                diag(
                    self.name,
                    self.root_mark,
                    "the file is empty: a spec is a mapping that starts with 'batchspec: 1'",
                )
            ]
        if not isinstance(self.root, dict):
            return [
                diag(
                    self.name,
                    self.root_mark,
                    f"the top level must be a mapping of spec keys, found {_kind(self.root)}",
                )
            ]
        return self.root

    def _run(self) -> None:
        loader = self.loader
        while loader.check_event():
            event = loader.get_event()
            mark = (event.start_mark.line + 1, event.start_mark.column + 1)
            if isinstance(event, yaml.ScalarEvent):
                self._scalar(event, mark)
            elif isinstance(event, yaml.MappingStartEvent | yaml.SequenceStartEvent):
                self._start(event, mark)
            elif isinstance(event, yaml.MappingEndEvent | yaml.SequenceEndEvent):
                self._end()
            elif isinstance(event, yaml.AliasEvent):
                self._alias(event, mark)
            elif isinstance(event, yaml.DocumentStartEvent):
                self.documents += 1
                if self.documents > 1:
                    raise _Fatal(mark, "the file holds more than one YAML document; a spec is one")

    def _count(self, n: int, mark: Mark) -> None:
        self.values += n
        if self.values > MAX_VALUES:
            raise _Fatal(
                mark,
                f"the document holds more than {MAX_VALUES:,} values once its aliases are "
                "expanded; a spec is far smaller (is an alias repeating a large anchor?)",
            )

    def _expecting_key(self) -> bool:
        top = self.stack[-1] if self.stack else None
        return top is not None and isinstance(top.value, dict) and top.key is None

    def _slot(self, mark: Mark) -> JsonPath | None:
        """The JSON path of the node starting at `mark`, recording its position."""
        if not self.stack:
            self.root_mark = mark
            self.positions[()] = mark
            return ()
        top = self.stack[-1]
        if top.path is None:
            return None
        if isinstance(top.value, dict):
            assert top.key is not None
            path: JsonPath = (*top.path, top.key)
            self.positions.setdefault(path, top.key_mark)
        else:
            path = (*top.path, len(top.value))
            self.positions[path] = mark
        return path

    def _scalar(self, event: Any, mark: Mark) -> None:
        self._count(1, mark)
        if self._expecting_key():
            self._key(event, mark)
            return
        path = self._slot(mark)
        value = self._construct(event, mark, path)
        if event.anchor is not None:
            self.anchors[event.anchor] = (value, 1)
        self._attach(value, 1)

    def _construct(self, event: Any, mark: Mark, path: JsonPath | None) -> Any:
        tag = event.tag
        if tag is None or tag == "!":
            tag = self.loader.resolve(yaml.ScalarNode, event.value, event.implicit)
        if tag == _TIMESTAMP:
            return event.value  # JSON has no dates: keep what was written
        if tag not in _SCALAR_TAGS:
            raise _Fatal(mark, f"the YAML tag {tag!r} is not supported in a spec", path)
        node = yaml.ScalarNode(tag, event.value, event.start_mark, event.end_mark, event.style)
        try:
            value = self.loader.yaml_constructors[tag](self.loader, node)
            if self.restore and isinstance(value, str):
                return value.translate(self.restore)
            return value
        except Exception:
            short = tag.removeprefix(_TAG)
            text: str = event.value
            shown = (
                repr(text) if len(text) <= 40 else f"{text[:32]!r}... ({len(text):,} characters)"
            )
            reason = ""
            if short == "int" and len(text) > sys.get_int_max_str_digits():
                reason = (
                    f": integers of more than {sys.get_int_max_str_digits():,} digits are refused"
                )
            raise _Fatal(mark, f"{shown} cannot be read as {short}{reason}", path) from None

    def _key(self, event: Any, mark: Mark) -> None:
        top = self.stack[-1]
        assert isinstance(top.value, dict)
        is_merge = (
            event.tag is None
            and not event.style
            and self.loader.resolve(yaml.ScalarNode, event.value, event.implicit) == _MERGE
        )
        # Keys are the text as written: `on:` or `1:` are names here, not a boolean or a number.
        key = _MERGE if is_merge else str(event.value).translate(self.restore)
        top.key_mark = mark
        if not is_merge and key in top.value and top.path is not None:
            first = self.positions.get((*top.path, key), mark)
            self.problems.append(
                diag(
                    self.name,
                    mark,
                    f"duplicate key {key!r} (first defined at line {first[0]})",
                    json_path((*top.path, key)),
                )
            )
            top.saved_path, top.path, top.discarding = top.path, None, True
        top.key = key

    def _start(self, event: Any, mark: Mark) -> None:
        self._count(1, mark)
        if self._expecting_key():
            raise _Fatal(mark, "a mapping key must be a plain string, not a mapping or a list")
        is_map = isinstance(event, yaml.MappingStartEvent)
        expected = _TAG + ("map" if is_map else "seq")
        if len(self.stack) >= MAX_DEPTH:
            raise _Fatal(
                mark, f"the document is nested more than {MAX_DEPTH} levels deep; a spec is not"
            )
        path = self._slot(mark)
        if event.tag not in (None, "!", expected):
            raise _Fatal(mark, f"the YAML tag {event.tag!r} is not supported in a spec", path)
        container: dict[str, Any] | list[Any] = {} if is_map else []
        self.stack.append(_Frame(container, path, mark, event.anchor))

    def _end(self) -> None:
        frame = self.stack.pop()
        value: Any = frame.value
        if frame.merges and isinstance(value, dict):
            value = self._merge(frame, value, frame.merges)
        if frame.anchor is not None:
            self.anchors[frame.anchor] = (value, frame.size)
        self._attach(value, frame.size)

    def _merge(
        self, frame: _Frame, explicit: dict[str, Any], merges: list[tuple[Any, Mark]]
    ) -> dict[str, Any]:
        # As PyYAML does: merged keys first, earlier sources win, explicit keys win over all.
        merged: dict[str, Any] = {}
        for source, mark in merges:
            sources = source if isinstance(source, list) else [source]
            for item in sources:
                if not isinstance(item, dict):
                    raise _Fatal(
                        mark, "a merge key '<<' takes a mapping or a list of mappings", frame.path
                    )
                for key, val in item.items():
                    if key not in merged and key not in explicit:
                        merged[key] = val
                        if frame.path is not None:
                            self.positions.setdefault((*frame.path, key), mark)
        merged.update(explicit)
        return merged

    def _alias(self, event: Any, mark: Mark) -> None:
        if self._expecting_key():
            raise _Fatal(mark, "an alias cannot be a mapping key")
        found = self.anchors.get(event.anchor)
        if found is None:
            raise _Fatal(
                mark, f"the alias *{event.anchor} refers to no anchor &{event.anchor} before it"
            )
        value, size = found
        self._count(size, mark)
        self._slot(mark)
        self._attach(value, size)

    def _attach(self, value: Any, size: int) -> None:
        if not self.stack:
            self.root = value
            return
        top = self.stack[-1]
        top.size += size
        if isinstance(top.value, list):
            top.value.append(value)
            return
        key = top.key
        top.key = None
        if top.discarding:
            top.path, top.saved_path, top.discarding = top.saved_path, None, False
            return
        if key == _MERGE:
            top.merges.append((value, top.key_mark))
            return
        assert key is not None
        top.value[key] = value


def _syntax_error(name: str, exc: yaml.MarkedYAMLError, text: str) -> Diagnostic:
    mark = exc.problem_mark or exc.context_mark
    where = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
    if mark is not None and _char_at(text, mark.line, mark.column) == "\t":
        return diag(
            name, where, "YAML syntax error: a tab cannot start a token; indent with spaces"
        )
    message = f"YAML syntax error: {exc.problem or 'the file is not valid YAML'}"
    # The context helps when it points elsewhere, e.g. at the unclosed bracket.
    context_mark = exc.context_mark
    if (
        exc.context
        and context_mark is not None
        and (mark is None or context_mark.line != mark.line)
    ):
        message += f" ({exc.context} at line {context_mark.line + 1})"
    return diag(name, where, message)


def _char_at(text: str, line: int, column: int) -> str:
    lines = text.split("\n", line + 1)
    if line < len(lines) and column < len(lines[line]):
        return lines[line][column]
    return ""


def _kind(value: Any) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    return "a string"
