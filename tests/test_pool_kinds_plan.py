"""Auto pools, existing pools and autoscale in the plan (text and JSON) and in validate's
cross-field checks."""

from __future__ import annotations

import io
from pathlib import Path

from batchspec.plan.show import plan_header_json, write_text
from plan_helpers import BASE, located, plan_of, write_spec

POOL = """\
pool:
  id: demo-pool
  vm_size: standard_d2s_v3
  nodes: {dedicated: 1}
"""
TASK = "- {id: one, command: echo one}\n"


def _spec(tmp_path: Path, pool: str, tasks: str = TASK) -> Path:
    head, rest = BASE.split(POOL, 1)
    image = rest[: rest.index("job:")]
    return write_spec(tmp_path, tasks, base=head + pool + image + rest[rest.index("job:") :])


def _text(tmp_path: Path, pool: str) -> str:
    out = io.StringIO()
    write_text(plan_of(_spec(tmp_path, pool)), out)
    return out.getvalue()


def test_an_auto_pool_is_shown_as_the_pool_batch_will_make(tmp_path: Path) -> None:
    pool = POOL.replace("  nodes:", "  lifetime: job\n  nodes:")
    text = _text(tmp_path, pool)
    assert "Pool demo-pool_<GUID>: auto pool, lifetime job" in text
    assert "Batch creates it with the job and deletes it when the job ends" in text
    data = plan_header_json(plan_of(_spec(tmp_path, pool)))["pool"]
    assert (data["lifetime"], data["existing"], data["autoscale"]) == ("job", False, None)


def test_an_autoscale_pool_shows_its_formula_and_interval(tmp_path: Path) -> None:
    pool = POOL.replace(
        "nodes: {dedicated: 1}",
        "nodes:\n    autoscale:\n      formula: |\n        $TargetDedicatedNodes = {{ vars.n }};\n"
        "      interval: 10m",
    )
    text = _text(tmp_path, pool)
    assert "vm size standard_d2s_v3; autoscale, evaluated every 10m:" in text
    assert "    $TargetDedicatedNodes = 3;" in text
    data = plan_header_json(plan_of(_spec(tmp_path, pool)))["pool"]
    assert data["autoscale"] == {"formula": "$TargetDedicatedNodes = 3;\n", "interval_seconds": 600}


def test_an_existing_pool_is_not_managed_and_its_settings_are_not_assumed(tmp_path: Path) -> None:
    spec = _spec(tmp_path, "pool:\n  existing: 'shared-{{ vars.label }}'\n")
    # The image part of BASE sits under pool: drop it, nothing may be written beside `existing`.
    text = spec.read_text()
    spec.write_text(text[: text.index("  image:")] + text[text.index("job:") :])
    plan = plan_of(spec)
    assert plan.pool.existing and plan.pool.id == "shared-hello" and not plan.pool.managed
    out = io.StringIO()
    write_text(plan, out)
    assert "Pool shared-hello: existing, not managed by this spec" in out.getvalue()
    assert "vm size" not in out.getvalue()


def test_an_existing_pool_may_have_more_task_slots_than_one(tmp_path: Path) -> None:
    spec = _spec(
        tmp_path, "pool:\n  existing: shared\n", "- {id: big, command: echo, required_slots: 4}\n"
    )
    text = spec.read_text()
    spec.write_text(text[: text.index("  image:")] + text[text.index("job:") :])
    assert plan_of(spec).tasks[0].required_slots == 4


def test_validate_refuses_what_batch_would_refuse_of_pool_kinds(tmp_path: Path) -> None:
    pool = POOL.replace("demo-pool", "p" * 21).replace("  nodes:", "  lifetime: job\n  nodes:")
    assert located(_spec(tmp_path, pool)) == [
        "10:3: $.pool.id: an auto pool's id is the prefix of the id Batch gives it "
        "(`<prefix>_<GUID>`), at most 20 characters; 'ppppppppppppppppppppp' has 21"
    ]
    long = POOL.replace(
        "nodes: {dedicated: 1}",
        "nodes: {autoscale: {formula: '$TargetDedicatedNodes = 1;', interval: 169h}}",
    )
    (problem,) = located(_spec(tmp_path, long))
    assert "$.pool.nodes.autoscale.interval: Batch evaluates a formula every 5m to 168h" in problem
