"""Replaying recorded Azure Batch traffic against the local service and comparing the answers.

A recording (tests/emulator/conformance/recordings/*.json, each naming its source) is a list of
steps: a request (method, path, query, body) and what Azure answered (status, body). Runs of
identical polling requests were collapsed when the recordings were transcribed: a step marked
`poll` is repeated until the local answer reaches the recorded status and state; every other
step is sent once. Per step the replay compares the status, the Batch error code and the set of
keys of the body (every key path, list items merged); values that differ by nature (ids, times,
ETags, URLs) are not compared. Steps on Windows pools (`windows`) must get the local service's
NotSupportedByLocalService error; steps that only make sense after one (`depends_on_windows`)
are not sent. Both count as unsupported.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from azure.batch import BatchClient
from azure.core.exceptions import HttpResponseError
from azure.core.rest import HttpRequest

RECORDINGS = Path(__file__).resolve().parent / "conformance" / "recordings"
API_VERSION = "2025-06-01"
LOCAL_LIMIT = "NotSupportedByLocalService"
POLL_TIMEOUT = 60.0
_STATE_KEYS = ("state", "allocationState")


@dataclass(frozen=True)
class StepResult:
    """How the local service answered one recorded request."""

    recording: str
    index: int
    request: str
    unsupported: bool
    status: tuple[int, int] = (0, 0)  # (recorded, local)
    code: tuple[str | None, str | None] = (None, None)
    missing_keys: frozenset[str] = frozenset()
    extra_keys: frozenset[str] = frozenset()
    states: tuple[tuple[str, ...], tuple[str, ...]] = ((), ())

    @property
    def status_ok(self) -> bool:
        return self.status[0] == self.status[1]

    @property
    def code_ok(self) -> bool:
        return self.code[0] == self.code[1]

    @property
    def keys_ok(self) -> bool:
        return not self.missing_keys and not self.extra_keys

    @property
    def states_ok(self) -> bool:
        return self.states[0] == self.states[1]


@dataclass
class _Context:
    nodes: list[str] = field(default_factory=list)
    next_link: str | None = None


def key_paths(value: Any, prefix: str = "") -> set[str]:
    """Every key path of a JSON value (`a.b`, list items merged under `a[].b`)."""
    out: set[str] = set()
    if isinstance(value, dict):
        for k, v in value.items():
            path = f"{prefix}.{k}" if prefix else k
            out.add(path)
            out |= key_paths(v, path)
    elif isinstance(value, list):
        for item in value:
            out |= key_paths(item, f"{prefix}[]")
    return out


def _states(body: Any) -> tuple[str, ...]:
    if not isinstance(body, dict):
        return ()
    if isinstance(body.get("value"), list):
        return tuple(sorted({str(i.get("state")) for i in body["value"] if isinstance(i, dict)}))
    return tuple(f"{k}={body[k]}" for k in _STATE_KEYS if k in body)


def _without_windows(body: Any, windows_ids: set[str]) -> Any:
    if not windows_ids or not isinstance(body, dict) or not isinstance(body.get("value"), list):
        return body
    kept = [
        i
        for i in body["value"]
        if not (
            isinstance(i, dict) and (i.get("id") in windows_ids or i.get("poolId") in windows_ids)
        )
    ]
    return {**body, "value": kept}


def _substitute(value: Any, names: dict[str, str]) -> Any:
    if isinstance(value, str):
        for key, text in names.items():
            value = value.replace("{" + key + "}", text)
        return value
    if isinstance(value, dict):
        return {k: _substitute(v, names) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, names) for v in value]
    return value


class Replay:
    """One recording against one local service."""

    def __init__(self, client: BatchClient, container_url: Callable[[], str]) -> None:
        self.client = client
        self.container_url = container_url

    def _names(self, ctx: _Context, needs_container: bool) -> dict[str, str]:
        names = {f"node{i}": node for i, node in enumerate(ctx.nodes)}
        if needs_container:
            names["container_url"] = self.container_url()
        return names

    def _send(self, step: dict[str, Any], ctx: _Context) -> tuple[int, Any]:
        raw = json.dumps(step)
        names = self._names(ctx, "{container_url}" in raw)
        path = _substitute(step["path"], names)
        params = {"api-version": API_VERSION, **step.get("query", {})}
        if params.get("$skiptoken") == "Sanitized":
            # The recorded token is sanitized: follow the local service's own next link.
            if ctx.next_link is None:
                return 0, None
            params = dict(parse_qsl(urlsplit(ctx.next_link).query))
        body = _substitute(step.get("body"), names)
        request = HttpRequest(step["method"], path, params=params, json=body)
        try:
            response = self.client.send_request(request)
        except HttpResponseError as failed:  # the SDK's policy raises on an error answer
            if failed.response is None:
                raise
            response = failed.response
        text = response.text() if step["method"] != "HEAD" else ""
        data = json.loads(text) if text.strip() else None
        if isinstance(data, dict):
            ctx.next_link = data.get("odata.nextLink")
            if path.endswith("/nodes") and isinstance(data.get("value"), list):
                ctx.nodes = [str(n["id"]) for n in data["value"]]
        return response.status_code, data

    def _until(self, step: dict[str, Any], ctx: _Context, want: Callable[[int, Any], bool]) -> Any:
        deadline = time.monotonic() + POLL_TIMEOUT
        status, data = self._send(step, ctx)
        while not want(status, data) and time.monotonic() < deadline:
            time.sleep(0.2)
            status, data = self._send(step, ctx)
        return status, data

    def run(self, name: str, recording: dict[str, Any]) -> Iterator[StepResult]:
        """Replay the setup, then every step; yield what each got."""
        ctx = _Context()
        for step in recording.get("setup", []):
            until = step.get("until") or {}
            status, data = self._until(
                step,
                ctx,
                lambda s, d, st=step, u=until: (
                    s == st["status"]
                    and all(isinstance(d, dict) and d.get(k) == v for k, v in u.items())
                ),
            )
            if status != step["status"]:
                raise AssertionError(f"{name}: setup {step['method']} {step['path']} got {status}")
        windows_ids = set(recording.get("windows_ids", []))
        for index, step in enumerate(recording["steps"]):
            label = f"{step['method']} {step['path']}"
            if step.get("depends_on_windows"):
                yield StepResult(name, index, label, unsupported=True)
                continue
            recorded = _without_windows(step.get("response"), windows_ids)
            if step.get("poll"):
                status, data = self._until(
                    step,
                    ctx,
                    lambda s, d, st=step, r=recorded: (
                        s == st["status"] and _states(d) == _states(r)
                    ),
                )
            else:
                status, data = self._send(step, ctx)
            if step.get("windows"):
                code = data.get("code") if isinstance(data, dict) else None
                yield StepResult(name, index, label, True, (400, status), (LOCAL_LIMIT, code))
                continue
            ignore = set(step.get("ignore_keys", []))
            want_keys = key_paths(recorded) - ignore if recorded is not None else set()
            got_keys = key_paths(data) - ignore if data is not None else set()
            want_code = recorded.get("code") if isinstance(recorded, dict) else None
            got_code = data.get("code") if isinstance(data, dict) and want_code else None
            yield StepResult(
                name,
                index,
                label,
                False,
                (step["status"], status),
                (want_code, got_code),
                frozenset(want_keys - got_keys),
                frozenset(got_keys - want_keys),
                (_states(recorded), _states(data)),
            )


def recordings() -> list[tuple[str, dict[str, Any]]]:
    """Every stored recording, by name."""
    return [(p.stem, json.loads(p.read_text())) for p in sorted(RECORDINGS.glob("*.json"))]


@dataclass(frozen=True)
class Figures:
    """The suite's figures, as docs/emulator.md and bench/README.md quote them."""

    recordings: int
    replayed: int
    compared: int
    same_status: int
    errors: int
    same_code: int
    same_keys: int
    same_states: int
    unsupported: int

    def line(self) -> str:
        return (
            f"{self.recordings} recordings ({self.replayed} replayed), {self.compared} compared "
            f"requests: {self.same_status}/{self.compared} Azure's status, {self.same_code}/"
            f"{self.errors} Azure's error code, {self.same_keys}/{self.compared} Azure's key set, "
            f"{self.same_states}/{self.compared} Azure's state; {self.unsupported} unsupported "
            "(Windows pools and what depends on them)"
        )


def figures(total: int, replayed: int, results: list[StepResult]) -> Figures:
    compared = [r for r in results if not r.unsupported]
    errors = [r for r in compared if r.code[0] is not None]
    return Figures(
        recordings=total,
        replayed=replayed,
        compared=len(compared),
        same_status=sum(r.status_ok for r in compared),
        errors=len(errors),
        same_code=sum(r.code_ok for r in errors),
        same_keys=sum(r.keys_ok for r in compared),
        same_states=sum(r.states_ok for r in compared),
        unsupported=len(results) - len(compared),
    )
