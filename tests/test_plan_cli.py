import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from batchspec.cli import main
from batchspec.plan.build import load_plan
from batchspec.plan.model import Plan
from plan_helpers import BASE, write_spec

SPECS = Path(__file__).resolve().parent.parent / "specs"
TOPN = str(SPECS / "topn.yaml")


def _run_id() -> str:
    plan = load_plan(SPECS / "topn.yaml", {})
    assert isinstance(plan, Plan)
    return plan.run.id


def _topn_line(name: str, words: int = 3) -> str:
    return (
        "    command line: /bin/bash -c 'set -e; set -o pipefail; python3 "
        f'"$AZ_BATCH_NODE_SHARED_DIR/topn_task.py" --filepath {name} --numwords {words}\''
    )


def test_plan_prints_the_three_topn_tasks_exactly() -> None:
    result = CliRunner().invoke(main, ["plan", TOPN])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    start = lines.index("Tasks (3)")
    end = lines.index("Downloads (1)")
    tasks = [line for line in lines[start + 1 : end] if line.startswith("  ") and line[2] != " "]
    assert tasks == ["  topn-lighthouse", "  topn-orchard", "  topn-river"]
    command_lines = [line for line in lines[start:end] if line.startswith("    command line: ")]
    assert command_lines == [
        _topn_line("lighthouse.txt"),
        _topn_line("orchard.txt"),
        _topn_line("river.txt"),
    ]


def test_plan_text_shows_every_part_of_the_plan() -> None:
    result = CliRunner().invoke(main, ["plan", TOPN])
    out = result.stdout
    run_id = _run_id()
    assert f"Job topn-{run_id}" in out
    assert "Pool topn-pool" in out
    assert (
        "    command line: /bin/bash -c 'set -e; set -o pipefail; "
        'cp -r "$AZ_BATCH_TASK_WORKING_DIR"/* "$AZ_BATCH_NODE_SHARED_DIR"\'\n' in out
    )
    assert (
        "    resource file: https://<account>.blob.core.windows.net/topn-input/river.txt"
        "?<SAS redacted> -> river.txt\n" in out
    )
    assert "  topn/topn_task.py -> topn-application/topn_task.py (" in out
    assert "    output: *_OUTPUT.txt -> topn-output/ (on success)\n" in out
    assert "  topn-output/* -> out/topn/ (keep existing files)\n" in out
    assert "  containers: delete; job: delete; pool: keep\n" in out
    assert "sig=" not in out


def test_plan_var_override() -> None:
    result = CliRunner().invoke(main, ["plan", TOPN, "--var", "num_words=7"])
    assert result.exit_code == 0
    assert _topn_line("orchard.txt", 7) in result.output.splitlines()


def test_plan_json_is_the_same_data() -> None:
    result = CliRunner().invoke(main, ["plan", TOPN, "--format", "json"])
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["task_count"] == 3
    assert [t["id"] for t in data["tasks"]] == ["topn-lighthouse", "topn-orchard", "topn-river"]
    assert data["tasks"][1]["command_line"] == _topn_line("orchard.txt").split(": ", 1)[1]
    assert data["tasks"][0]["resource_files"][0]["url"] == (
        "https://<account>.blob.core.windows.net/topn-input/lighthouse.txt?<SAS redacted>"
    )
    assert data["job"] == {
        "id": f"topn-{_run_id()}",
        "timeout_seconds": 1200,
        "priority": 0,
        "max_task_retries": 0,
        "uses_task_dependencies": False,
        "environment": {},
        "on_all_tasks_complete": "noaction",
        "on_task_failure": "noaction",
        "preparation": None,
        "release": None,
        "manager": None,
    }
    assert data["pool"]["start_task"]["elevated"] is True
    assert data["cleanup"] == {
        "containers": "delete",
        "job": "delete",
        "pool": "keep",
        "on_failure": {"containers": "keep", "job": "keep", "pool": "keep"},
    }


def test_plan_of_a_broken_spec_prints_located_errors(tmp_path: Path) -> None:
    spec = tmp_path / "broken.yaml"
    text = (SPECS / "topn.yaml").read_text()
    text = text.replace("container: output, when", "container: outptu, when")
    spec.write_text(text)
    (tmp_path / "topn").symlink_to(SPECS / "topn")
    result = CliRunner().invoke(main, ["plan", str(spec)])
    assert result.exit_code == 2
    assert result.stdout == ""
    line = next(n for n, t in enumerate(text.splitlines(), 1) if "outptu" in t)
    assert result.stderr.splitlines() == [
        f"{spec}:{line}:{text.splitlines()[line - 1].index('container: outptu') + 1}: "
        "$.job.tasks[0].outputs[0].container: unknown container 'outptu' "
        "(containers: application, input, output); did you mean 'output'?",
        f"{spec}: 1 error; nothing planned",
    ]
    assert "Traceback" not in result.output


def test_plan_reports_unknown_var_as_a_located_error() -> None:
    result = CliRunner().invoke(main, ["plan", TOPN, "--var", "num_word=2"])
    assert result.exit_code == 2
    assert "$.vars: --var num_word: the spec has no variable 'num_word'" in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["plan"],
        ["plan", "does/not/exist.yaml"],
        ["plan", TOPN, "--var", "novalue"],
        ["plan", TOPN, "--format", "xml"],
        ["plan", str(SPECS)],
    ],
)
def test_usage_errors_exit_2(args: list[str]) -> None:
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2
    assert "Traceback" not in result.output


def test_yaml_error_is_reported_without_traceback(tmp_path: Path) -> None:
    spec = tmp_path / "bad.yaml"
    spec.write_text("batchspec: 1\nname: [unclosed\n")
    result = CliRunner().invoke(main, ["plan", str(spec)])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"{spec}:")
    assert "Traceback" not in result.output


@pytest.mark.parametrize("spec", sorted(SPECS.glob("*.yaml")), ids=lambda p: p.name)
@pytest.mark.parametrize("fmt", ["text", "json"])
def test_every_example_spec_plans_in_both_formats(spec: Path, fmt: str) -> None:
    result = CliRunner().invoke(main, ["plan", str(spec), "--format", fmt])
    assert result.exit_code == 0, result.stderr
    if fmt == "json":
        data = json.loads(result.stdout)
        scheduled = data["schedule"] is not None  # its jobs run the job manager task
        unlisted = not all(x["listed"] for x in data["listings"])  # tasks from a listing
        assert len(data["tasks"]) == data["task_count"] >= (0 if scheduled or unlisted else 1)
        assert (data["job"]["manager"] is not None) == scheduled
    else:
        assert "Tasks (" in result.stdout or "job manager task" in result.stdout


def test_streamed_json_of_a_lazy_plan_is_one_document(tmp_path: Path) -> None:
    path = write_spec(
        tmp_path,
        """\
        - foreach: {sweep: {a: {range: [0, 6000]}}}
          id: "t-{{ item.a }}"
          command: "echo {{ item.a | quote }}"
          environment: {N: "{{ index }}"}
        """,
    )
    result = CliRunner().invoke(main, ["plan", str(path), "--format", "json"])
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["task_count"] == 6000
    assert data["tasks"][5999] == {
        "id": "t-5999",
        "command_line": "echo 5999",
        "resource_files": [],
        "environment": {"N": "5999"},
        "outputs": [],
        "max_retries": 0,
        "max_wall_clock_seconds": None,
        "depends_on": [],
        "elevated": False,
        "display_name": None,
        "required_slots": 1,
        "depends_on_ranges": [],
        "exit_conditions": None,
        "container_settings": None,
        "multi_instance": None,
    }


def test_plain_url_resource_files_are_shown_redacted(tmp_path: Path) -> None:
    path = write_spec(
        tmp_path,
        """\
        - id: one
          command: echo
          resource_files:
            - {url: "https://example.org/x.tgz?sv=1&sig=SECRETSIG", path: x.tgz}
            - {container: input, prefix: "f", path: inputs}
        """,
    )
    result = CliRunner().invoke(main, ["plan", str(path)])
    assert result.exit_code == 0
    assert "SECRETSIG" not in result.stdout
    assert "    resource file: https://example.org/x.tgz?sv=1&sig=REDACTED -> x.tgz\n" in (
        result.stdout
    )
    assert (
        "    resource file: https://<account>.blob.core.windows.net/demo-input?<SAS redacted> "
        "(blobs under 'f') -> inputs\n" in result.stdout
    )


@pytest.mark.timeout(120)
@pytest.mark.parametrize("fmt", ["text", "json"])
def test_a_closed_pipe_stops_the_plan_without_a_traceback(tmp_path: Path, fmt: str) -> None:
    path = write_spec(
        tmp_path,
        """\
        - foreach: {sweep: {a: {range: [0, 6000]}}}
          id: "t-{{ item.a }}"
          command: "echo {{ item.a | quote }} and some text to fill the pipe quickly"
        """,
    )
    batchspec = Path(sys.executable).parent / "batchspec"
    child = subprocess.Popen(
        [str(batchspec), "plan", str(path), "--format", fmt],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert child.stdout is not None and child.stderr is not None
    assert child.stdout.read(10)
    child.stdout.close()  # as `| head -c 10` does
    with child.stderr:
        stderr = child.stderr.read().decode()
    assert child.wait() == 1
    # Only the line saying which run this is (written before the plan), no traceback.
    assert len(stderr.splitlines()) == 1 and stderr.startswith("run "), stderr


SECRET_SIG = "sig=c2VjcmV0U0lH%2Bx%3D"
SECRET_KEY = "AccountKey=U0VDUkVUa2V5"


def test_secrets_pasted_into_any_value_are_redacted_in_both_formats(tmp_path: Path) -> None:
    url = f"https://example.org/data?sv=1&{SECRET_SIG}"
    connection = f'"DefaultEndpointsProtocol=https;AccountName=a;{SECRET_KEY};"'
    path = write_spec(
        tmp_path,
        f"""\
        - id: one
          command: fetch '{url}' --to 'a "quoted" dir'
          environment: {{CONN: {connection}, URL: "{url}"}}
          outputs: [{{pattern: "*", container: output, path: "{url}"}}]
        """,
        base=BASE.replace("vars: {n: 3,", f'vars: {{url: "{url}", n: 3,'),
    )
    for fmt in ("text", "json"):
        result = CliRunner().invoke(main, ["plan", str(path), "--format", fmt])
        assert result.exit_code == 0, result.output
        assert "sig=REDACTED" in result.stdout and "AccountKey=REDACTED" in result.stdout
        assert SECRET_SIG not in result.stdout and SECRET_KEY not in result.stdout
        if fmt == "json":
            document = json.loads(result.stdout)
            task = document["tasks"][0]
            assert task["command_line"] == (
                "fetch 'https://example.org/data?sv=1&sig=REDACTED' --to 'a \"quoted\" dir'"
            )
            assert document["vars"]["url"] == "https://example.org/data?sv=1&sig=REDACTED"


def test_secrets_in_error_messages_are_redacted(tmp_path: Path) -> None:
    path = write_spec(tmp_path, "- {id: one, command: echo}\n")
    override = f"n=https://example.org/?{SECRET_SIG}"
    for command, code in (("validate", 1), ("plan", 2)):
        result = CliRunner().invoke(main, [command, str(path), "--var", override])
        assert result.exit_code == code
        assert "--var n=https://example.org/?sig=REDACTED" in result.output
        assert SECRET_SIG not in result.output


@pytest.mark.timeout(60)
@pytest.mark.parametrize("fmt", ["text", "json"])
def test_a_console_that_cannot_encode_a_character_gets_escapes(tmp_path: Path, fmt: str) -> None:
    path = write_spec(tmp_path, "- {id: one, command: echo café 日本}\n")
    done = subprocess.run(
        [sys.executable, "-m", "batchspec", "plan", str(path), "--format", fmt],
        capture_output=True,
        env={**os.environ, "PYTHONIOENCODING": "ascii"},
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()
    assert b"Traceback" not in done.stderr
    if fmt == "json":
        document = json.loads(done.stdout)
        assert document["tasks"][0]["command_line"] == "echo café 日本"
    else:
        assert b"    command line: echo caf\\xe9 \\u65e5\\u672c\n" in done.stdout
