"""Unit tests of the emulator's pure parts: command lines, $filter, Shared Key, durations,
output-file patterns, secret scrubbing."""

from __future__ import annotations

from pathlib import Path

import pytest
from azure.batch._patch import BatchSharedKeyAuthPolicy
from azure.core.credentials import AzureNamedKeyCredential
from azure.core.pipeline import PipelineContext, PipelineRequest
from azure.core.rest import HttpRequest

from batchspec.emulator.api.auth import DEFAULT_KEY, verify
from batchspec.emulator.api.odata import compile_filter
from batchspec.emulator.engine.cmdline import CommandLineError, split_command_line
from batchspec.emulator.engine.storage_io import _matches, scrub
from batchspec.emulator.service.errors import BatchError
from batchspec.emulator.service.values import parse_duration

ENV = {"SHARED": "/n/shared", "SPACED": "a b", "EMPTY": ""}


@pytest.mark.parametrize(
    ("line", "argv"),
    [
        ("python3 $SHARED/task.py --n 3", ["python3", "/n/shared/task.py", "--n", "3"]),
        ("echo ${SHARED}x", ["echo", "/n/sharedx"]),
        ("/bin/bash -c 'echo $SHARED; ls *'", ["/bin/bash", "-c", "echo $SHARED; ls *"]),
        ('echo "$SPACED" $SPACED', ["echo", "a b", "a b"]),
        ("echo $UNSET end", ["echo", "end"]),
        ('echo "$UNSET"', ["echo", ""]),
        (r"echo a\ b \$SHARED", ["echo", "a b", "$SHARED"]),
        ('echo "say \\"hi\\""', ["echo", 'say "hi"']),
        ("cost $5", ["cost", "$5"]),
    ],
)
def test_command_lines_split_and_expand_like_the_node_agent(line: str, argv: list[str]) -> None:
    assert split_command_line(line, ENV) == argv


def test_unterminated_quote_is_an_error() -> None:
    with pytest.raises(CommandLineError):
        split_command_line("echo 'oops", ENV)


def test_filter_subset() -> None:
    doc = {
        "id": "task-12",
        "state": "completed",
        "executionInfo": {"result": "failure", "exitCode": 3},
    }
    assert compile_filter("state eq 'completed'")(doc)
    assert compile_filter("executionInfo/result eq 'failure' and executionInfo/exitCode gt 2")(doc)
    assert not compile_filter("not (startswith(id, 'task-1') or state ne 'completed')")(doc)
    assert compile_filter("executionInfo/exitCode ge 3 and id eq 'task-12'")(doc)
    assert compile_filter("id eq 'it''s'")({"id": "it's"})
    assert compile_filter(None)(doc)
    with pytest.raises(BatchError) as info:
        compile_filter("state eq")
    assert info.value.code == "InvalidQueryParameterValue"


def _signed(method: str, url: str, headers: dict[str, str]) -> HttpRequest:
    request = HttpRequest(method, url, headers=headers)
    policy = BatchSharedKeyAuthPolicy(AzureNamedKeyCredential("acct", DEFAULT_KEY))
    policy.on_request(PipelineRequest(request, PipelineContext(None)))
    return request


def _check(request: HttpRequest, key: str = DEFAULT_KEY) -> str | None:
    path, _, query = request.url.partition("?")
    raw_path = "/" + path.split("/", 3)[3]
    headers = {k.lower(): v for k, v in request.headers.items()}
    return verify(
        headers.get("authorization"), request.method, raw_path, query, headers, "acct", key
    )


def test_shared_key_matches_the_sdk_policy() -> None:
    url = (
        "http://127.0.0.1:1/jobs/j%201/tasks?api-version=2025-06-01"
        "&%24filter=state%20eq%20%27active%27&maxresults=5"
    )
    request = _signed("GET", url, {"ocp-date": "Mon, 01 Jan 2024 00:00:00 GMT", "If-Match": "x"})
    assert _check(request) is None
    body = _signed(
        "POST",
        "http://127.0.0.1:1/pools?api-version=2025-06-01",
        {"content-type": "application/json", "content-length": "12"},
    )
    assert _check(body) is None
    assert _check(request, key="AAAA" + DEFAULT_KEY[4:]) is not None
    request.headers["ocp-date"] = "Tue, 02 Jan 2024 00:00:00 GMT"  # tampered after signing
    assert _check(request) is not None
    del request.headers["Authorization"]
    assert "missing" in (_check(request) or "")


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("PT1S", 1),
        ("PT10M", 600),
        ("P1DT2H", 93600),
        ("PT0.5S", 0.5),
        ("P10675199DT2H48M5.4775807S", None),
        ("", None),
    ],
)
def test_durations(text: str, seconds: float | None) -> None:
    assert parse_duration(text) == seconds


def test_output_patterns(tmp_path: Path) -> None:
    wd = tmp_path / "wd"
    (wd / "a" / "b").mkdir(parents=True)
    for name in ("x_OUTPUT.txt", "a/y_OUTPUT.txt", "a/b/z.csv", "keep.log"):
        (wd / name).write_text(name)
    (tmp_path / "stdout.txt").write_text("out")
    (tmp_path / "stderr.txt").write_text("err")
    rel = lambda pattern: sorted(r for _p, r in _matches(pattern, wd))  # noqa: E731
    assert rel("*_OUTPUT.txt") == ["x_OUTPUT.txt"]
    assert rel("**/*_OUTPUT.txt") == ["a/y_OUTPUT.txt", "x_OUTPUT.txt"]
    assert rel("a/**/*") == ["b/z.csv", "y_OUTPUT.txt"]
    assert rel("../std*.txt") == ["stderr.txt", "stdout.txt"]
    assert rel("keep.log") == ["keep.log"]


def test_scrub_removes_sas_signatures() -> None:
    text = "GET https://x/c/b?sv=2024&sig=abc%2Fdef&se=1 failed"
    assert scrub(text) == "GET https://x/c/b?sv=2024&sig=REDACTED&se=1 failed"
