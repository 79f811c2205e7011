"""docs/guide.md stays true: its spec is specs/score.yaml, its template table names every
variable the renderer gives, its snippets use the hook and the action as they are, and the
diagram is the one its script draws."""

from __future__ import annotations

import dataclasses
import importlib.util
import re
import xml.dom.minidom
from typing import Any

import yaml

from batchspec.plan.model import RunInfo
from batchspec.spec.factories import blob_item

from .checkout import REPO

GUIDE = (REPO / "docs" / "guide.md").read_text(encoding="utf-8")
SVG = REPO / "docs" / "apply-steps.svg"


def section(number: int) -> str:
    start = GUIDE.index(f"\n## {number}. ")
    end = GUIDE.find("\n## ", start + 1)
    return GUIDE[start : end if end >= 0 else None]


def yaml_blocks(text: str) -> list[str]:
    return re.findall(r"```yaml\n(.*?)```", text, flags=re.S)


def test_the_diagram_is_what_its_script_draws() -> None:
    spec = importlib.util.spec_from_file_location(
        "apply_steps", REPO / "docs" / "diagrams" / "apply_steps.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.render() == SVG.read_text(encoding="utf-8"), "run `make diagrams`"
    document = xml.dom.minidom.parse(str(SVG))
    assert document.documentElement.tagName == "svg"
    assert "](apply-steps.svg)" in GUIDE


def test_the_guides_spec_is_specs_score_yaml() -> None:
    written: dict[str, Any] = {}
    for block in yaml_blocks(section(3)):
        written.update(yaml.safe_load(block))
    example = yaml.safe_load((REPO / "specs" / "score.yaml").read_text())
    example.pop("description")
    assert written == example


def test_the_template_table_names_every_variable() -> None:
    table = section(4)
    rows = {m.group(1) for m in re.finditer(r"^\| `([^`]+)` \|", table, flags=re.M)}
    item = blob_item("csv/a.csv", REPO / "specs" / "a.csv", 1, REPO / "specs")
    names = {"vars.NAME", "spec.name", "containers.KEY", "item", "index", "\\| quote"}
    names |= {f"run.{field.name}" for field in dataclasses.fields(RunInfo)}
    names |= {f"item.{key}" for key in item}
    assert rows == names


def test_the_snippets_use_the_hook_and_the_actions_inputs() -> None:
    hooks = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())
    action = yaml.safe_load((REPO / "action.yml").read_text())
    config, workflow = (yaml.safe_load(b) for b in yaml_blocks(section(7)))
    assert config["repos"][0]["hooks"][0]["id"] in {h["id"] for h in hooks}
    (step,) = [s for s in workflow["jobs"]["validate"]["steps"] if "with" in s]
    assert set(step["with"]) <= set(action["inputs"])
