"""The example specs really run: `batchspec apply` on the session's local Batch service and
Azurite, through the real SDKs (topn.yaml is run by test_apply_command.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from batchspec.cli import main

from .conftest import SecretCheck, azure_env
from .live_cli import copy_specs

pytestmark = pytest.mark.timeout(300)


def _apply(spec: Path, tmp_path: Path, env: dict[str, str], check: SecretCheck) -> None:
    args = ["apply", str(spec), "--yes", "--data-dir", str(tmp_path / "home")]
    result = CliRunner().invoke(main, args, env=env, catch_exceptions=False)
    check.add(f"apply {spec.name}", result.output)
    assert result.exit_code == 0, result.output


def test_pi_sweep_runs_every_point(
    tmp_path: Path, batch_service: Any, azurite: Any, secret_check: SecretCheck
) -> None:
    specs = copy_specs(tmp_path)
    _apply(specs / "pi.yaml", tmp_path, azure_env(batch_service, azurite), secret_check)
    results = sorted((specs / "out" / "pi").glob("*.json"))
    assert [p.name for p in results] == sorted(
        f"pi-{seed}-{samples}.json" for seed in range(1, 5) for samples in (10000, 100000, 1000000)
    )
    for path in results:
        estimate = json.loads(path.read_text())
        assert abs(estimate["estimate"] - 3.14159) < 0.1, estimate


def test_wordcount_merge_runs_after_every_count(
    tmp_path: Path, batch_service: Any, azurite: Any, secret_check: SecretCheck
) -> None:
    specs = copy_specs(tmp_path)
    _apply(specs / "wordcount.yaml", tmp_path, azure_env(batch_service, azurite), secret_check)
    (merged,) = (specs / "out" / "wordcount").glob("merged-*.txt")
    lines = merged.read_text().splitlines()
    assert lines[0] == (
        "# 3 texts: The lighthouse keeper; Notes from the orchard; A ferryman's river"
    )
    assert lines[1:4] == ["lamp 20", "apples 16", "river 15"]
    assert len(lines) == 11


def test_score_the_guides_example_summarises_every_csv(
    tmp_path: Path, batch_service: Any, azurite: Any, secret_check: SecretCheck
) -> None:
    specs = copy_specs(tmp_path)
    _apply(specs / "score.yaml", tmp_path, azure_env(batch_service, azurite), secret_check)
    summaries = {p.name: json.loads(p.read_text()) for p in (specs / "out" / "score").iterdir()}
    assert sorted(summaries) == ["monday.json", "tuesday.json", "wednesday.json"]
    assert summaries["tuesday.json"] == {
        "source": "score/data/tuesday.csv",
        "part": 1,
        "column": "temperature",
        "count": 4,
        "mean": 11.25,
        "min": 8.0,
        "max": 15.5,
    }
