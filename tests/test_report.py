"""Reporters: text lines, a stable JSON list, GitHub workflow-command annotations."""

from __future__ import annotations

import json

from batchspec.diagnostics import Diagnostic
from batchspec.report import REPORTERS, github_report, json_report, text_report

DIAGS = [
    Diagnostic("specs/a.yaml", 3, 5, "$.pool.id", "'x y' must be a Batch id"),
    Diagnostic("specs/b.yaml", 1, 1, "$", "YAML syntax error: found '%'"),
]


def test_registry_names() -> None:
    assert set(REPORTERS) == {"text", "json", "github"}


def test_text_is_one_line_per_diagnostic() -> None:
    assert text_report(DIAGS) == (
        "specs/a.yaml:3:5: $.pool.id: 'x y' must be a Batch id\n"
        "specs/b.yaml:1:1: $: YAML syntax error: found '%'\n"
    )
    assert text_report([]) == ""


def test_text_keeps_a_line_break_in_a_name_on_one_line() -> None:
    odd = Diagnostic("a\nb.yaml", 1, 1, '$["x\ny"]', "bad\r\nvalue")
    assert text_report([odd]) == 'a\\nb.yaml:1:1: $["x\\ny"]: bad\\r\\nvalue\n'


def test_json_is_a_stable_list_of_objects() -> None:
    out = json_report(DIAGS)
    assert json.loads(out) == [
        {
            "file": "specs/a.yaml",
            "line": 3,
            "col": 5,
            "path": "$.pool.id",
            "message": "'x y' must be a Batch id",
            "severity": "error",
        },
        {
            "file": "specs/b.yaml",
            "line": 1,
            "col": 1,
            "path": "$",
            "message": "YAML syntax error: found '%'",
            "severity": "error",
        },
    ]
    assert json_report(DIAGS) == out
    assert json.loads(json_report([])) == []


def test_github_annotations_escape_per_the_workflow_command_rules() -> None:
    assert github_report(DIAGS).splitlines() == [
        "::error file=specs/a.yaml,line=3,col=5,title=batchspec $.pool.id::"
        "$.pool.id: 'x y' must be a Batch id",
        "::error file=specs/b.yaml,line=1,col=1,title=batchspec $::"
        "$: YAML syntax error: found '%25'",
    ]
    odd = Diagnostic("dir,1/a:b.yaml", 2, 3, "$.x", "50% done\r\nnext")
    assert github_report([odd]) == (
        "::error file=dir%2C1/a%3Ab.yaml,line=2,col=3,title=batchspec $.x::"
        "$.x: 50%25 done%0D%0Anext\n"
    )


def test_text_leaves_backslashes_alone() -> None:
    odd = Diagnostic("dir\\a.yaml", 1, 2, "$.x", "'a\\tb' is invalid")
    assert text_report([odd]) == "dir\\a.yaml:1:2: $.x: 'a\\tb' is invalid\n"


def test_what_a_terminal_would_act_on_is_shown_escaped() -> None:
    # An ESC sequence retitles or recolours a terminal, NUL cuts a line, U+202E reverses it.
    d = Diagnostic("f\x1b[31m.yaml", 1, 2, "$.a\u2028b", "x\x00y\x1b]0;t\x07 \u202e\x85\nz\tw")
    assert text_report([d]) == (
        "f\\x1b[31m.yaml:1:2: $.a\\u2028b: x\\x00y\\x1b]0;t\\x07 \\u202e\\x85\\nz\tw\n"
    )
    assert json.loads(json_report([d]))[0]["message"] == d.message
    assert "\x1b" not in json_report([d]) and "\u202e" not in json_report([d])
    shown = github_report([d])
    assert "\x1b" not in shown and "\x00" not in shown and "%0A" in shown
