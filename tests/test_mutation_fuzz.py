"""Mutation fuzzing of the example specs through the real CLI: a fixed seed and a fixed set of
mutants (every node of every example replaced or deleted in turn, then random edits of the
text), and for every one `validate` exits 0 or 1 and `plan` 0 or 2, neither crashes or prints a
Python object or secret, every problem is located as `path:LINE:COL: $.json.path: message`, and
`apply` refuses every invalid one with the same lines, exit 2, creating nothing."""

from __future__ import annotations

import copy
import json
import random
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result

from batchspec.cli import main

REPO = Path(__file__).resolve().parent.parent
SEED = 20261124
TEXT_MUTANTS = 120

# Single-point mutations: every scalar of every example spec is replaced, one at a time, by
# values chosen for its type, so no mutation hides another behind a schema error.
INTEGERS: list[Any] = [-1, 0, 2**31, 10**20]
# Appended to every template string: escapes, allocations, recursion, odd lookups. (A loop
# that never ends costs the watchdog's 5 s each time; test_plan_checks has that case.)
SNIPPETS = [
    "{{ ''.__class__.__mro__ }}",
    "{{ cycler.__init__.__globals__ }}",
    "{{ ''|attr('__class__') }}",
    "{{ 'x' * 10**9 }}",
    "{{ '%999999999s' % 1 }}",
    "{{ '{:>999999999}'.format(1) }}",
    "{{ range(10**9) | list }}",
    "{{ range(99999) | sum }}",
    "{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}",
    "{{ [vars.missing] }}",
    "{{ vars.keys }}",
    "{{ item.values }}",
    "{{ [1, 2] | map('string') }}",
    "{{ cycler(1, 2) }}",
    "{{ index }}",
    "{{ spec }}{{ run }}{{ containers }}",
    "{{ namespace(a=1) }}{{ joiner() }}",
    "{{ lipsum() }}",
    "{{",
]
STRINGS: list[Any] = [
    "",
    " ",
    "x" * 300,
    "\u202etxt.exe",
    "caf\u00e9 \U0001f600",
    "line\nbreak",
    "../../etc/passwd",
    "/abs/path",
    "*",
    "0s",
    "99999999999999d",
    "a|b; c",
    "'unclosed",
    "https://h/x?sv=1&sig=SECRET",
]
# Values for any node, scalar or not.
ANY: list[Any] = [
    None,
    True,
    1.5,
    float("inf"),
    float("nan"),
    [],
    {},
    [1, [2, [3]]],
    {"range": [0, 10**20]},
    {"range": [5, 1]},
    {"items": []},
    {"container": "nope"},
]

# Edits that only make sense on the file's text.
TEXT_EDITS = [
    "!!python/object/apply:os.system ['true'] ",
    "!!binary aGk= ",
    "&a ",
    "*a",
    "<<: *a\n",
    "<<: {x: 1}\n",
    "\t",
    "\ufeff",
    "---\n",
    "? [a]\n",
    "{",
    "]",
    "'",
    ": ",
    "- ",
]


def _leaves(node: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    if isinstance(node, dict | list):
        children = node.items() if isinstance(node, dict) else enumerate(node)
        for key, child in children:
            yield (*prefix, key), child
            yield from _leaves(child, (*prefix, key))


def _replaced(data: dict[str, Any], where: tuple[Any, ...], value: Any) -> bytes:
    data = copy.deepcopy(data)
    parent: Any = data
    for key in where[:-1]:
        parent = parent[key]
    if value is _DELETE:
        del parent[where[-1]]
    else:
        parent[where[-1]] = copy.deepcopy(value)
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True).encode("utf-8")


_DELETE = object()


def point_mutants(rng: random.Random, text: str) -> Iterator[bytes]:
    """Each node of the spec deleted or replaced, one at a time."""
    data = yaml.safe_load(text)
    for where, value in _leaves(data):
        if isinstance(value, bool) or value is None:
            choices: list[Any] = [rng.choice(ANY)]
        elif isinstance(value, int):
            choices = INTEGERS
        elif isinstance(value, str) and "{{" in value:
            choices = [value + " " + snippet for snippet in SNIPPETS]
        elif isinstance(value, str):
            choices = [rng.choice(STRINGS)]
        else:
            choices = [_DELETE, rng.choice(ANY)]
        for choice in choices:
            yield _replaced(data, where, choice)


def text_mutant(rng: random.Random, text: str) -> bytes:
    """A few random edits of the file's text and bytes: tags, aliases, tabs, BOMs, bad bytes."""
    lines = text.splitlines(keepends=True)
    for _ in range(rng.randint(1, 3)):
        i = rng.randrange(len(lines))
        roll = rng.random()
        if roll < 0.2:
            del lines[i]
        elif roll < 0.35:
            lines.insert(rng.randrange(len(lines)), lines[i])  # a duplicate key, often
        else:
            at = rng.randrange(len(lines[i]) + 1)
            lines[i] = lines[i][:at] + rng.choice(TEXT_EDITS) + lines[i][at:]
    raw = "".join(lines).encode("utf-8")
    roll = rng.random()
    if roll < 0.2:
        raw = raw.replace(b"\n", b"\r\n")
    elif roll < 0.4:
        at = rng.randrange(len(raw))
        raw = raw[:at] + rng.choice([b"\xff", b"\xc3", b"\x00", b"\x07"]) + raw[at:]
    return raw


def mutants(sources: list[Path]) -> Iterator[bytes]:
    """The same mutants on every run: all point mutants, then TEXT_MUTANTS random ones."""
    rng = random.Random(SEED)
    texts = [p.read_text(encoding="utf-8") for p in sources]
    for text in texts:
        yield from point_mutants(rng, text)
    for _ in range(TEXT_MUTANTS):
        yield text_mutant(rng, rng.choice(texts))


JSON_PATH = r'\$(?:\.[A-Za-z0-9_-]+|\[\d+\]|\["(?:[^"\\]|\\.)*"\])*'
LOCATED = re.compile(
    rf"^(?P<file>.+?):(?P<line>\d+):(?P<col>\d+): (?P<path>{JSON_PATH}): (?P<msg>.+)$"
)


def check_located(output: str, name: str, line_count: int) -> None:
    """Each line of `output` names the file, a line and column inside it, a JSON path."""
    for line in output.splitlines():
        match = LOCATED.match(line)
        assert match is not None, line
        assert match["file"] == name, line
        assert 1 <= int(match["line"]) <= line_count + 1, line
        assert int(match["col"]) >= 1, line
        assert "internal error" not in match["msg"], line
        assert "Traceback" not in match["msg"], line


def run(args: list[str], codes: tuple[int, ...] = (0, 1)) -> Result:
    result = CliRunner().invoke(main, args)
    # CliRunner keeps an escaped exception instead of printing a traceback.
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    assert result.exit_code in codes, result.output
    assert "Traceback" not in result.output
    return result


@pytest.mark.timeout(600)
def test_mutated_specs_exit_0_or_1_with_located_messages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    specs = tmp_path / "specs"
    shutil.copytree(REPO / "specs", specs, ignore=shutil.ignore_patterns("out"))
    monkeypatch.chdir(specs)
    sources = sorted(specs.glob("*.yaml"))
    assert len(sources) >= 3
    target = specs / "mutant.yaml"
    outcomes = {0: 0, 1: 0}
    for number, raw in enumerate(mutants(sources)):
        target.write_bytes(raw)
        line_count = raw.count(b"\n") + 1
        checked = run(["validate", target.name])
        check_located(checked.stdout, target.name, line_count)
        assert checked.stderr.startswith("1 file checked, "), checked.stderr
        planned = run(["plan", target.name, "--format", "json"], (0, 2))
        # validate says 1 for an invalid spec (a linter), plan 2 (nothing was planned).
        assert planned.exit_code == 2 * checked.exit_code, (number, raw)
        if planned.exit_code == 0:
            document = json.loads(planned.stdout)
            assert document["task_count"] == len(document["tasks"])
            assert "SECRET" not in planned.stdout
            # A template must not have printed a Python object in place of a value.
            assert not re.search(r"<built-in|Undefined| at 0x[0-9a-f]+>", planned.stdout)
        else:
            *problems, summary = planned.stderr.splitlines()
            check_located("\n".join(problems), target.name, line_count)
            assert summary.startswith(f"{target.name}: "), summary
            # apply refuses it the same way, before it contacts any target or makes a journal.
            home = tmp_path / "home"
            applied = run(["apply", target.name, "--yes", "--data-dir", str(home)], (2,))
            assert applied.stderr.splitlines()[:-1] == problems, (number, raw)
            assert applied.stderr.splitlines()[-1].endswith("; nothing was created")
            assert "SECRET" not in applied.output
            assert not home.exists()
        outcomes[checked.exit_code] += 1
    # The mutants must reach every stage: some stay valid, most break somewhere.
    assert outcomes[0] >= 50 and outcomes[1] >= 300, outcomes
