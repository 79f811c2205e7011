"""Task factories over data: rows of CSV, JSON and YAML files, zipped lists, stepped ranges."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from batchspec.spec.datafile import DataFileError, read_rows
from plan_helpers import messages, plan_of, write_spec

ROWS = """\
- foreach: {file: rows.FORMAT}
  id: "t-{{ item.name }}"
  command: "echo {{ item.name | quote }} {{ item.size | quote }}"
"""


def _rows_spec(tmp_path: Path, suffix: str, text: str) -> Path:
    path = write_spec(tmp_path, ROWS.replace("FORMAT", suffix))
    (tmp_path / f"rows.{suffix}").write_text(text)
    return path


@pytest.mark.parametrize(
    ("suffix", "text"),
    [
        ("csv", "name,size\na,1\nb,22\n\n"),
        ("json", json.dumps([{"name": "a", "size": 1}, {"name": "b", "size": 22}])),
        ("yaml", "- {name: a, size: 1}\n- {name: b, size: 22}\n"),
    ],
)
def test_one_task_per_row(tmp_path: Path, suffix: str, text: str) -> None:
    plan = plan_of(_rows_spec(tmp_path, suffix, text))
    assert [(t.id, t.command_line) for t in plan.tasks] == [
        ("t-a", "echo a 1"),
        ("t-b", "echo b 22"),
    ]


@pytest.mark.parametrize(
    ("suffix", "text", "problem"),
    [
        ("csv", "", "the CSV file has no header row"),
        ("csv", "name,size\na,1,extra\n", "line 2 of the CSV file has 3 fields; the header has 2"),
        ("csv", "name,name\na,b\n", "the CSV header names 'name' more than once"),
        ("json", '{"name": "a"}', "rows.json holds dict, not a list of items"),
        ("json", "[1, 2", "JSON syntax error at line 1, column 6: Expecting ',' delimiter"),
        ("yaml", "- &a x\n- *a\n", "line 2: YAML aliases (*name) are not allowed in a data file"),
        ("yaml", "", "rows.yaml holds nothing, not a list of items"),
        ("yaml", "[]", "rows.yaml holds no rows"),
    ],
)
def test_a_bad_data_file_is_reported_at_the_factory(
    tmp_path: Path, suffix: str, text: str, problem: str
) -> None:
    found = messages(_rows_spec(tmp_path, suffix, text))
    assert found == [f"$.job.tasks[0].foreach.file: {problem}"]


def test_a_missing_data_file(tmp_path: Path) -> None:
    found = messages(write_spec(tmp_path, ROWS.replace("FORMAT", "csv")))
    assert len(found) == 1
    assert found[0].startswith("$.job.tasks[0].foreach.file: ")
    assert found[0].endswith("rows.csv does not exist (paths are relative to the spec)")


def test_a_directory_is_not_a_data_file(tmp_path: Path) -> None:
    (tmp_path / "dir.csv").mkdir()
    with pytest.raises(DataFileError, match="is not a regular file"):
        read_rows(tmp_path / "dir.csv")


def test_zipped_lists_go_side_by_side(tmp_path: Path) -> None:
    tasks = """\
- foreach: {zip: {a: [x, y, z], n: {range: [10, 40, 10]}}}
  id: "t-{{ index }}"
  command: "echo {{ item.a }} {{ item.n }}"
"""
    plan = plan_of(write_spec(tmp_path, tasks))
    assert [t.command_line for t in plan.tasks] == ["echo x 10", "echo y 20", "echo z 30"]


def test_zipped_lists_of_different_lengths(tmp_path: Path) -> None:
    tasks = """\
- foreach: {zip: {a: [x, y, z], b: [1, 2]}}
  id: "t-{{ index }}"
  command: "echo {{ item.a }}"
"""
    assert messages(write_spec(tmp_path, tasks)) == [
        "$.job.tasks[0].foreach.zip: zipped lists must be equally long: a has 3, b has 2 "
        "(for every combination, use sweep)"
    ]


def test_a_range_with_a_step_and_vars(tmp_path: Path) -> None:
    tasks = """\
- foreach: {range: [0, "{{ vars.n * 10 }}", 4]}
  id: "t-{{ item }}"
  command: "echo {{ item }}"
"""
    plan = plan_of(write_spec(tmp_path, tasks))
    assert [t.id for t in plan.tasks] == [
        "t-0",
        "t-4",
        "t-8",
        "t-12",
        "t-16",
        "t-20",
        "t-24",
        "t-28",
    ]
    backwards = tasks.replace("[0, ", "[30, ").replace(", 4]", ", -10]")
    plan = plan_of(write_spec(tmp_path, backwards), {"n": "0"})
    assert [t.id for t in plan.tasks] == ["t-30", "t-20", "t-10"]


def test_an_empty_range_and_a_zero_step(tmp_path: Path) -> None:
    tasks = """\
- foreach: {range: [5, 5]}
  id: "t-{{ item }}"
  command: "echo {{ item }}"
"""
    assert messages(write_spec(tmp_path, tasks)) == [
        "$.job.tasks[0].foreach.range: the range holds no number (its start is at or past its stop)"
    ]
    zero = tasks.replace("[5, 5]", "[0, 5, 0]")
    assert messages(write_spec(tmp_path, zero)) == [
        "$.job.tasks[0].foreach.range: a range step cannot be 0"
    ]


def test_a_huge_range_is_refused_unexpanded(tmp_path: Path) -> None:
    tasks = """\
- foreach: {range: [0, 100000000000]}
  id: "t-{{ item }}"
  command: "echo {{ item }}"
"""
    assert messages(write_spec(tmp_path, tasks)) == [
        "$.job.tasks: the job would have 100,000,000,000 tasks; batchspec plans at most 1,000,000"
    ]


def test_an_edited_data_file_is_a_new_run(tmp_path: Path) -> None:
    # The rows decide which tasks run: like an edited upload, an edited sheet is a new run.
    import json
    import shutil

    from click.testing import CliRunner

    from batchspec.cli import main

    repo = Path(__file__).resolve().parent.parent
    shutil.copytree(repo / "specs" / "samples", tmp_path / "samples")
    shutil.copy(repo / "specs" / "samples.yaml", tmp_path / "samples.yaml")

    def run_id() -> str:
        shown = CliRunner().invoke(
            main, ["plan", "--format", "json", str(tmp_path / "samples.yaml")]
        )
        assert shown.exit_code == 0, shown.output
        return str(json.loads(shown.stdout)["run"]["id"])

    before = run_id()
    assert run_id() == before
    sheet = tmp_path / "samples" / "sheet.csv"
    sheet.write_text(sheet.read_text() + "s5,skin,700,1\n")
    assert run_id() != before
