"""The negative corpus: every broken spec in tests/negative/ gives exit 1 and exactly the
located lines of its .expected file; generated inputs (huge, deep, mutated) never crash."""

from __future__ import annotations

import random
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from batchspec.cli import main
from batchspec.commands.validate import check_spec
from batchspec.spec.load import MAX_BYTES
from batchspec.spec.yaml_events import MAX_DEPTH

REPO = Path(__file__).resolve().parent.parent
NEGATIVE = REPO / "tests" / "negative"
CASES = sorted(NEGATIVE.glob("*.yaml"))


def normalise(output: str) -> str:
    # Some messages name the spec's folder absolutely; the corpus must hold on any clone.
    return output.replace(f"{REPO}/", "")


def errors(n: int) -> str:
    return f"{n} error" if n == 1 else f"{n} errors"


def test_the_corpus_pairs_every_spec_with_its_expected_output() -> None:
    specs = {p.stem for p in NEGATIVE.glob("*.yaml")}
    expected = {p.stem for p in NEGATIVE.glob("*.expected")}
    assert specs == expected
    assert len(specs) >= 40


@pytest.mark.parametrize("spec", CASES, ids=lambda p: p.stem)
def test_negative_spec(spec: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    result = CliRunner().invoke(main, ["validate", spec.relative_to(REPO).as_posix()])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    expected = spec.with_suffix(".expected").read_text(encoding="utf-8").splitlines()
    assert normalise(result.stdout).splitlines() == expected
    assert result.exit_code == 1
    warned = sum(": warning: " in line for line in expected)
    also = f", {warned} warning{'s' if warned != 1 else ''}" if warned else ""
    assert result.stderr == f"1 file checked, {errors(len(expected) - warned)}{also}\n"


@pytest.mark.parametrize("spec", CASES, ids=lambda p: p.stem)
def test_apply_refuses_it_with_the_same_lines_and_creates_nothing(
    spec: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(REPO)
    home = tmp_path / "home"
    args = ["apply", spec.relative_to(REPO).as_posix(), "--yes", "--data-dir", str(home)]
    result = CliRunner().invoke(main, args, env={"AZURE_BATCH_ENDPOINT": ""})
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    expected = spec.with_suffix(".expected").read_text(encoding="utf-8").splitlines()
    *problems, summary = normalise(result.stderr).splitlines()
    assert problems == expected
    assert (
        summary
        == f"{spec.relative_to(REPO).as_posix()}: {errors(len(expected))}; nothing was created"
    )
    assert result.exit_code == 2
    assert result.stdout == ""
    # Nothing was started or recorded: no local services, no journal.
    assert not home.exists()


@pytest.mark.timeout(120)
def test_the_whole_corpus_in_one_run_is_sorted_and_traceback_free() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "batchspec", "validate", "tests/negative"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    expected: list[str] = []
    for spec in CASES:
        expected += spec.with_suffix(".expected").read_text(encoding="utf-8").splitlines()
    assert done.returncode == 1
    assert normalise(done.stdout).splitlines() == expected
    warned = sum(": warning: " in line for line in expected)
    assert done.stderr == (
        f"{len(CASES)} files checked, {errors(len(expected) - warned)}, {warned} warnings\n"
    )


def test_a_50_mb_file_is_refused_unread(tmp_path: Path) -> None:
    huge = tmp_path / "huge.yaml"
    with huge.open("wb") as fh:
        line = b"key: " + b"x" * 1018 + b"\n"
        for _ in range(50 * 1024):
            fh.write(line)
    size = huge.stat().st_size
    assert size == 50 * 1024 * 1024
    result = CliRunner().invoke(main, ["validate", str(huge)])
    assert result.exit_code == 1
    assert result.stdout == (
        f"{huge}:1:1: $: the file is {size:,} bytes; a spec may be at most 5 MB "
        f"({MAX_BYTES:,} bytes)\n"
    )


def test_100_000_levels_of_nesting_are_refused_early(tmp_path: Path) -> None:
    deep = tmp_path / "deep.yaml"
    deep.write_text("batchspec: " + "[" * 100_000 + "]" * 100_000 + "\n")
    result = CliRunner().invoke(main, ["validate", str(deep)])
    assert result.exit_code == 1
    col = len("batchspec: ") + MAX_DEPTH
    assert result.stdout == (
        f"{deep}:1:{col}: $: the document is nested more than {MAX_DEPTH} levels deep; "
        "a spec is not\n"
    )


def _mutate(rng: random.Random, text: str) -> str:
    lines = text.splitlines(keepends=True)
    pieces = ["{{ item.name }}", "{{ vars.nope }}", "{%", "}}", "{{", ": ", "- ", "&a ", "*a"]
    pieces += ["[", "]", "0", "-1", "''", "x" * 70, "{{ index }}", "\t", "~", "!!str ", "<<: "]
    for _ in range(rng.randint(1, 4)):
        i = rng.randrange(len(lines))
        op = rng.random()
        if op < 0.3:
            del lines[i]
        elif op < 0.5:
            lines.insert(rng.randrange(len(lines)), lines[i])
        else:
            line = lines[i]
            at = rng.randrange(len(line) + 1)
            lines[i] = line[:at] + rng.choice(pieces) + line[at + rng.randint(0, 3) :]
    return "".join(lines)


@pytest.mark.timeout(300)
def test_mutated_example_specs_never_crash_any_stage(tmp_path: Path) -> None:
    # Every stage (load, schema, build_plan) must turn bad input into diagnostics; check_spec
    # reports an escaped exception as an "internal error", which must never happen.
    shutil.copytree(REPO / "specs", tmp_path / "specs")
    sources = sorted((tmp_path / "specs").glob("*.yaml"))
    rng = random.Random(2026)
    target = tmp_path / "specs" / "mutant.yaml"
    for _ in range(300):
        target.write_text(_mutate(rng, rng.choice(sources).read_text()))
        for problem in check_spec(target, {}):
            assert not problem.message.startswith("internal error"), (
                target.read_text(),
                problem,
            )
