"""Specs for plan tests: YAML text in a tmp dir, loaded with positions and schema-checked."""

from __future__ import annotations

import textwrap
from pathlib import Path

from batchspec.diagnostics import Diagnostic
from batchspec.plan.build import build_plan
from batchspec.plan.model import Plan, RunInfo
from batchspec.spec.document import LoadedSpec
from batchspec.spec.load import load_spec
from batchspec.spec.schema import schema_diagnostics

RUN = RunInfo("run1", "2026-11-24")

BASE = """\
batchspec: 1
name: demo
vars: {n: 3, label: hello, fast: false, ratio: 0.5}
containers:
  input: {name: demo-input}
  output: {name: demo-output}
uploads:
  - {source: "data/*.txt", container: input}
pool:
  id: demo-pool
  vm_size: standard_d2s_v3
  nodes: {dedicated: 1}
  image:
    publisher: canonical
    offer: ubuntu-24_04-lts
    sku: server
    node_agent: batch.node.ubuntu 24.04
job:
  id: "demo-{{ run.id }}"
  tasks:
"""


def write_spec(tmp_path: Path, tasks: str, *, base: str = BASE, files: int = 2) -> Path:
    """A spec under tmp_path with `tasks` (YAML list items) appended, and its data files."""
    data = tmp_path / "data"
    data.mkdir(exist_ok=True)
    for i in range(files):
        (data / f"f{i}.txt").write_text(f"text {i}\n")
    path = tmp_path / "spec.yaml"
    path.write_text(base + textwrap.indent(textwrap.dedent(tasks), "    "))
    return path


def loaded_from(path: Path) -> LoadedSpec:
    """The spec as the real loader reads it, with positions, after the schema accepted it."""
    loaded = load_spec(path)
    assert isinstance(loaded, LoadedSpec), [str(d) for d in loaded]
    assert schema_diagnostics(loaded) == []
    return loaded


def plan_of(path: Path, overrides: dict[str, str] | None = None) -> Plan:
    result = build_plan(loaded_from(path), overrides or {}, RUN)
    assert isinstance(result, Plan), [str(d) for d in result]
    return result


def problems_of(path: Path, overrides: dict[str, str] | None = None) -> list[Diagnostic]:
    """The errors of a spec that has some; warnings (tests/test_quoting_lint.py) left out."""
    result = build_plan(loaded_from(path), overrides or {}, RUN)
    assert isinstance(result, list), "expected diagnostics, got a plan"
    return [d for d in result if d.severity == "error"]


def warnings_of(path: Path, overrides: dict[str, str] | None = None) -> list[str]:
    """Each warning of a spec, valid or not, as `LINE:COL: $.path: message`."""
    result = build_plan(loaded_from(path), overrides or {}, RUN)
    found = result if isinstance(result, list) else list(result.warnings)
    return [f"{d.line}:{d.col}: {d.path}: {d.message}" for d in found if d.severity == "warning"]


def messages(path: Path, overrides: dict[str, str] | None = None) -> list[str]:
    return [f"{d.path}: {d.message}" for d in problems_of(path, overrides)]


def located(path: Path, overrides: dict[str, str] | None = None) -> list[str]:
    """Each problem as `LINE:COL: $.path: message`."""
    return [f"{d.line}:{d.col}: {d.path}: {d.message}" for d in problems_of(path, overrides)]
