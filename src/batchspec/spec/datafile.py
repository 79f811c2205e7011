"""Data files a task factory reads: rows of a CSV file, items of a JSON or YAML list.

A file is read once, when the spec is planned. It must be a regular file of at most
MAX_BYTES; YAML aliases are refused, so a short file cannot expand into a huge document.
"""

from __future__ import annotations

import csv
import io
import json
import stat
from pathlib import Path
from typing import Any

import yaml

MAX_BYTES = 16 * 1024 * 1024


class DataFileError(ValueError):
    """The file cannot give the factory its rows; the message says why."""


def read_rows(path: Path) -> list[Any]:
    """The items of a data file: one mapping per CSV row, or the JSON/YAML list's items."""
    text = _read_text(path)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return _csv_rows(text)
    data = _json(text) if suffix == ".json" else _yaml(text)
    if not isinstance(data, list):
        kind = type(data).__name__ if data is not None else "nothing"
        raise DataFileError(f"{path.name} holds {kind}, not a list of items")
    return data


def _read_text(path: Path) -> str:
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            raise DataFileError(f"{path} is not a regular file")
        if info.st_size > MAX_BYTES:
            raise DataFileError(
                f"{path.name} is {info.st_size:,} bytes; a data file may be at most "
                f"{MAX_BYTES // (1024 * 1024)} MB"
            )
        return path.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise DataFileError(f"{path} does not exist (paths are relative to the spec)") from None
    except UnicodeDecodeError as exc:
        raise DataFileError(f"{path.name} is not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise DataFileError(f"cannot read {path}: {exc.strerror or exc}") from None


def _csv_rows(text: str) -> list[Any]:
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
        if not header:
            raise DataFileError("the CSV file has no header row")
        duplicated = sorted({h for h in header if header.count(h) > 1})
        if duplicated:
            raise DataFileError(f"the CSV header names {duplicated[0]!r} more than once")
        rows: list[Any] = []
        for row in reader:
            if not row:
                continue  # a blank line
            if len(row) != len(header):
                raise DataFileError(
                    f"line {reader.line_num} of the CSV file has {len(row)} fields; "
                    f"the header has {len(header)}"
                )
            rows.append(dict(zip(header, row, strict=True)))
        return rows
    except csv.Error as exc:
        raise DataFileError(f"line {reader.line_num} of the CSV file: {exc}") from None


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataFileError(
            f"JSON syntax error at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from None
    except RecursionError:
        raise DataFileError("the JSON file nests too deeply") from None


def _yaml(text: str) -> Any:
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.AliasEvent):
                start = event.start_mark
                line = f"line {start.line + 1}: " if start is not None else ""
                raise DataFileError(f"{line}YAML aliases (*name) are not allowed in a data file")
        return yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise DataFileError(f"YAML syntax error{where}: {exc.problem or exc}") from None
    except (yaml.YAMLError, RecursionError) as exc:
        raise DataFileError(f"the YAML file cannot be read: {exc}") from None
