"""JSON types of the create-body properties the emulator acts on later.

The service's deserializer refuses a body whose properties have the wrong JSON types. The
emulator stores bodies as given and reads these properties only when a node boots or a task
runs, so a wrong type must be refused here, at create time, with 400 InvalidPropertyValue
naming the property, rather than surface later as an internal error or a node that never
becomes usable.
"""

from __future__ import annotations

from typing import Any

from batchspec.emulator.service.errors import invalid_property
from batchspec.emulator.service.values import Doc


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _object(body: Doc, name: str, prefix: str) -> Doc:
    value = body.get(name)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise invalid_property(prefix + name, value)
    return value


def _items(body: Doc, name: str, prefix: str) -> list[Doc]:
    value = body.get(name)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise invalid_property(prefix + name, value)
    return value


def _typed(body: Doc, prefix: str, **types: type | tuple[type, ...]) -> None:
    for name, kind in types.items():
        value = body.get(name)
        if value is None:
            continue
        wrong = not _is_int(value) if kind is int else not isinstance(value, kind)
        if wrong:
            raise invalid_property(prefix + name, value)


def _environment(body: Doc, name: str, prefix: str) -> None:
    for i, item in enumerate(_items(body, name, prefix)):
        _typed(item, f"{prefix}{name}[{i}].", name=str, value=str)


def _user_identity(body: Doc, prefix: str) -> None:
    identity = _object(body, "userIdentity", prefix)
    _typed(identity, f"{prefix}userIdentity.", username=str)
    auto = _object(identity, "autoUser", f"{prefix}userIdentity.")
    _typed(auto, f"{prefix}userIdentity.autoUser.", scope=str, elevationLevel=str)


def check_start_task(start: Doc, prefix: str = "startTask.") -> None:
    """The types of a pool's StartTask."""
    _typed(start, prefix, commandLine=str, maxTaskRetryCount=int, waitForSuccess=bool)
    _environment(start, "environmentSettings", prefix)
    _user_identity(start, prefix)


def check_job(body: Doc) -> None:
    """The types of a job create body's properties that its tasks use."""
    _environment(body, "commonEnvironmentSettings", "")
    constraints = _object(body, "constraints", "")
    _typed(constraints, "constraints.", maxWallClockTime=str, maxTaskRetryCount=int)


def check_task(body: Doc) -> None:
    """The types of a task create body's properties that running it uses."""
    _typed(body, "", commandLine=str)
    _environment(body, "environmentSettings", "")
    _user_identity(body, "")
    constraints = _object(body, "constraints", "")
    _typed(
        constraints,
        "constraints.",
        maxWallClockTime=str,
        retentionTime=str,
        maxTaskRetryCount=int,
    )
    depends = _object(body, "dependsOn", "")
    ids = depends.get("taskIds")
    if ids is not None and (not isinstance(ids, list) or not all(isinstance(i, str) for i in ids)):
        raise invalid_property("dependsOn.taskIds", ids)
    for i, item in enumerate(_items(depends, "taskIdRanges", "dependsOn.")):
        _typed(item, f"dependsOn.taskIdRanges[{i}].", start=int, end=int)
    conditions = _object(body, "exitConditions", "")
    for i, item in enumerate(_items(conditions, "exitCodes", "exitConditions.")):
        _typed(item, f"exitConditions.exitCodes[{i}].", code=int)
    for i, item in enumerate(_items(conditions, "exitCodeRanges", "exitConditions.")):
        _typed(item, f"exitConditions.exitCodeRanges[{i}].", start=int, end=int)
