"""The day-two verbs' conventions, without any service: --help shows the exit codes, and a
spec with problems, a malformed --var, a missing configuration or no run end with a message and
their exit code, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from batchspec.cli import main

VERBS = ["status", "logs", "destroy"]
LOCAL = {"AZURE_BATCH_ENDPOINT": ""}
GOOD = """\
batchspec: 1
name: quiet
containers:
  out: {name: quiet-out}
pool:
  id: quiet-pool
  vm_size: standard_d2s_v3
  nodes: {dedicated: 1}
  image: {publisher: canonical, offer: ubuntu-24_04-lts, sku: server,
          node_agent: batch.node.ubuntu 24.04}
job:
  id: quiet-job
  tasks:
    - {id: one, command: /bin/true}
"""


def _run(args: list[str], env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, args, env=env or LOCAL)


@pytest.mark.parametrize("verb", [*VERBS, "runs"])
def test_help_lists_the_exit_codes(verb: str) -> None:
    result = _run([verb, "--help"])
    assert result.exit_code == 0
    assert "Exit codes:" in result.output
    for option in ("--target", "--data-dir", "--format"):
        assert option in result.output


@pytest.mark.parametrize("verb", VERBS)
def test_a_spec_with_problems_is_exit_2_with_located_messages(verb: str, tmp_path: Path) -> None:
    spec = tmp_path / "bad.yaml"
    spec.write_text(GOOD.replace("dedicated: 1", "dedicated: two"))
    result = _run([verb, str(spec), "--data-dir", str(tmp_path / "home")])
    assert result.exit_code == 2, result.output
    assert f"{spec}:8:" in result.output and "$.pool.nodes.dedicated" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "home").exists()


@pytest.mark.parametrize("verb", VERBS)
@pytest.mark.parametrize("var", [" n=1", "n", "=1", "1n=2"])
def test_a_malformed_var_is_exit_2(verb: str, var: str, tmp_path: Path) -> None:
    spec = tmp_path / "s.yaml"
    spec.write_text(GOOD)
    result = _run([verb, str(spec), "--var", var, "--data-dir", str(tmp_path / "home")])
    assert result.exit_code == 2, result.output
    assert "expected NAME=VALUE" in result.output


@pytest.mark.parametrize("verb", ["status", "logs"])
def test_no_run_is_exit_3_and_starts_nothing(verb: str, tmp_path: Path) -> None:
    spec = tmp_path / "s.yaml"
    spec.write_text(GOOD)
    home = tmp_path / "home"
    result = _run([verb, str(spec), "--data-dir", str(home)])
    assert result.exit_code == 3, result.output
    assert f"error: no run of {spec} on local in {home}" in result.output
    assert not (home / "local").exists()  # the local services were not started


@pytest.mark.parametrize("verb", VERBS)
def test_azure_without_configuration_is_exit_2(verb: str, tmp_path: Path) -> None:
    from batchspec.apply.journal import Journal, RunState

    spec = tmp_path / "s.yaml"
    spec.write_text(GOOD)
    home = tmp_path / "home"
    Journal(home, spec, "azure").save(
        RunState(str(spec.resolve()), "d", "azure", "r", "2026-12-01", "quiet-pool", "quiet-job")
    )
    result = _run([verb, str(spec), "--target", "azure", "--data-dir", str(home)])
    assert result.exit_code == 2, result.output
    assert "error: --target azure needs AZURE_BATCH_ENDPOINT" in result.output


def test_follow_with_json_is_a_usage_error(tmp_path: Path) -> None:
    spec = tmp_path / "s.yaml"
    spec.write_text(GOOD)
    result = _run(["logs", str(spec), "--follow", "--format", "json"])
    assert result.exit_code == 2
    assert "--follow streams text lines" in result.output


def test_plan_refresh_options_are_in_help_and_errors_are_1_with_detailed_exitcode(
    tmp_path: Path,
) -> None:
    help_text = _run(["plan", "--help"]).output
    assert "--refresh" in help_text and "--detailed-exitcode" in help_text
    spec = tmp_path / "bad.yaml"
    spec.write_text(GOOD.replace("dedicated: 1", "dedicated: two"))
    assert _run(["plan", str(spec), "--refresh"]).exit_code == 2
    detailed = _run(["plan", str(spec), "--refresh", "--detailed-exitcode"])
    assert detailed.exit_code == 1
    assert "$.pool.nodes.dedicated" in detailed.output
    bad_var = _run(["plan", str(spec), "--refresh", "--detailed-exitcode", "--var", "x"])
    assert bad_var.exit_code == 1 and "Traceback" not in bad_var.output
