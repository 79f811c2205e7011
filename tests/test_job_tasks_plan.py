"""job.preparation and job.release planned: rendered as Batch receives them, and checked."""

from __future__ import annotations

from pathlib import Path

from batchspec.diagnostics import Diagnostic
from batchspec.plan.build import load_plan
from batchspec.plan.model import Plan, ResourceFilePlan

SPEC = """\
batchspec: 1
name: jt
vars: {stage: warm}
containers:
  tools: {name: jt-tools}
pool:
  id: jt-pool
  vm_size: standard_d2s_v3
  nodes: {dedicated: 1}
  image:
    publisher: canonical
    offer: ubuntu-24_04-lts
    sku: server
    node_agent: batch.node.ubuntu 24.04
job:
  id: jt
JOB
  tasks:
    - id: t
      command: /bin/true
"""


def _plan(tmp_path: Path, job: str) -> Plan | list[Diagnostic]:
    spec = tmp_path / "jt.yaml"
    spec.write_text(SPEC.replace("JOB\n", job))
    return load_plan(spec, {})


def test_templates_render_with_vars_and_containers(tmp_path: Path) -> None:
    plan = _plan(
        tmp_path,
        """\
  preparation:
    commands: ["echo {{ vars.stage | quote }} > ready"]
    environment: {BUCKET: "{{ containers.tools }}"}
    resource_files: [{container: tools, prefix: bin/}]
    elevated: "{{ vars.stage == 'warm' }}"
    retention: 0s
  release:
    command: /bin/rm -f ready
""",
    )
    assert isinstance(plan, Plan), plan
    prep, release = plan.job.preparation, plan.job.release
    assert prep is not None and release is not None
    assert prep.command_line == "/bin/bash -c 'set -e; set -o pipefail; echo warm > ready'"
    assert prep.environment == (("BUCKET", "jt-tools"),)
    assert prep.resource_files == (ResourceFilePlan(container="tools", prefix="bin/"),)
    assert prep.elevated is True and prep.wait_for_success is True
    assert prep.retention_seconds == 0
    assert (release.command_line, release.max_wall_clock_seconds) == ("/bin/rm -f ready", None)


def test_a_preparation_alone_is_fine_and_a_release_has_no_retries(tmp_path: Path) -> None:
    plan = _plan(tmp_path, "  preparation: {command: /bin/true, wait_for_success: false}\n")
    assert isinstance(plan, Plan), plan
    assert plan.job.preparation is not None and plan.job.release is None
    assert plan.job.preparation.wait_for_success is False


def test_a_zero_wall_clock_and_an_unquoted_placeholder_are_reported(tmp_path: Path) -> None:
    problems = _plan(
        tmp_path,
        """\
  preparation:
    commands: ["echo {{ vars.stage }}"]
    max_wall_clock: 0s
""",
    )
    assert isinstance(problems, list)
    messages = {(d.path, d.severity) for d in problems}
    assert ("$.job.preparation.max_wall_clock", "error") in messages
    assert any(d.path == "$.job.preparation.commands[0]" for d in problems)
