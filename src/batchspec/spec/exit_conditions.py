"""Exit conditions and task id ranges as typed records, from schema-valid data."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from batchspec.spec.document import JsonPath

JobAction = Literal["none", "disable", "terminate"]
DependencyAction = Literal["satisfy", "block"]


@dataclass(frozen=True, slots=True)
class ExitOptionsSpec:
    """What Batch does when a task ends one way; None leaves Batch's default."""

    job_action: JobAction | None
    dependency_action: DependencyAction | None
    where: JsonPath


@dataclass(frozen=True, slots=True)
class ExitCodeRangeSpec:
    start: int
    end: int
    options: ExitOptionsSpec


@dataclass(frozen=True, slots=True)
class ExitConditionsSpec:
    """A task's exit conditions; a single code is a range of one (`start == end`)."""

    exit_codes: tuple[tuple[int, ExitOptionsSpec], ...]
    exit_code_ranges: tuple[ExitCodeRangeSpec, ...]
    pre_processing_error: ExitOptionsSpec | None
    file_upload_error: ExitOptionsSpec | None
    default: ExitOptionsSpec | None
    where: JsonPath

    def all_options(self) -> tuple[ExitOptionsSpec, ...]:
        """Every ExitOptions of the conditions, in the order they are written."""
        found = [o for _, o in self.exit_codes] + [r.options for r in self.exit_code_ranges]
        found += [o for o in (self.pre_processing_error, self.file_upload_error, self.default) if o]
        return tuple(found)


@dataclass(frozen=True, slots=True)
class TaskIdRange:
    start: int
    end: int
    where: JsonPath


def _exit_options(data: Mapping[str, Any] | None, where: JsonPath) -> ExitOptionsSpec | None:
    if data is None:
        return None
    return ExitOptionsSpec(data.get("job_action"), data.get("dependency_action"), where)


def exit_conditions_from_data(
    data: Mapping[str, Any] | None, where: JsonPath
) -> ExitConditionsSpec | None:
    """A task's `exit_conditions:` as records (None when it has none)."""
    if data is None:
        return None
    codes = []
    for i, entry in enumerate(data.get("exit_codes", [])):
        options = _exit_options(entry, (*where, "exit_codes", i))
        assert options is not None
        codes.append((int(entry["code"]), options))
    ranges = []
    for i, entry in enumerate(data.get("exit_code_ranges", [])):
        options = _exit_options(entry, (*where, "exit_code_ranges", i))
        assert options is not None
        ranges.append(ExitCodeRangeSpec(int(entry["start"]), int(entry["end"]), options))
    return ExitConditionsSpec(
        exit_codes=tuple(codes),
        exit_code_ranges=tuple(ranges),
        pre_processing_error=_exit_options(
            data.get("pre_processing_error"), (*where, "pre_processing_error")
        ),
        file_upload_error=_exit_options(
            data.get("file_upload_error"), (*where, "file_upload_error")
        ),
        default=_exit_options(data.get("default"), (*where, "default")),
        where=where,
    )
