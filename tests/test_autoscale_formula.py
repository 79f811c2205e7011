"""The autoscale formula language checked offline: the parser the local service evaluates
with, in a mode that computes nothing, locating each mistake inside the spec's YAML."""

from __future__ import annotations

from pathlib import Path

import pytest

from batchspec.autoscale.formula import check, evaluate
from batchspec.plan.pool_checks import formula_position
from batchspec.spec.document import LoadedSpec
from batchspec.spec.load import load_spec

# From Microsoft's "Create a formula to automatically scale compute nodes in a Batch pool".
DOCS_FORMULAS = [
    """startingNumberOfVMs = 1;
maxNumberofVMs = 25;
pendingTaskSamplePercent = $PendingTasks.GetSamplePercent(180 * TimeInterval_Second);
pendingTaskSamples = pendingTaskSamplePercent < 70 ? startingNumberOfVMs :
    avg($PendingTasks.GetSample(180 * TimeInterval_Second));
$TargetDedicatedNodes=min(maxNumberofVMs, pendingTaskSamples);
$NodeDeallocationOption = taskcompletion;""",
    """$totalDedicatedNodes = (min($CPUPercent.GetSample(TimeInterval_Minute * 10)) > 0.7) ?
    ($CurrentDedicatedNodes * 1.1) : $CurrentDedicatedNodes;
$totalDedicatedNodes = (avg($CPUPercent.GetSample(TimeInterval_Minute * 60)) < 0.2) ?
    ($CurrentDedicatedNodes * 0.9) : $totalDedicatedNodes;
$TargetDedicatedNodes = min(400, $totalDedicatedNodes);
$NodeDeallocationOption = taskcompletion;""",
    "$TargetDedicatedNodes = max(0, min(4, $ActiveTasks + $RunningTasks));",
]


@pytest.mark.parametrize("formula", DOCS_FORMULAS)
def test_batchs_documented_formulas_parse(formula: str) -> None:
    assert check(formula) is None


@pytest.mark.parametrize(
    ("formula", "message", "at"),
    [
        ("$TargetDedicatedNodes = min(4, $PendingTask);", "unknown variable '$PendingTask'", 31),
        ("n = 1;\nx = mx(n, 2);", "unknown function 'mx'", 11),
        ("n = $PendingTasks.GetSampel(1);", "unknown method 'GetSampel'", 18),
        ("n = min(4, 2;", "expected ',' or ')', found ';'", 12),
        ("n = 1 +", "expected a value, found the end of the formula", 7),
        ("n = 1 # 2", "unexpected text '# 2'", 6),
        ("n = (1", "expected ')', found the end of the formula", 6),
        ("   ", "the formula is empty", 0),
    ],
)
def test_mistakes_are_found_at_their_offset(formula: str, message: str, at: int) -> None:
    problem = check(formula)
    assert problem is not None
    assert (str(problem), problem.offset) == (message, at)


def test_checking_computes_nothing_that_evaluation_would_refuse() -> None:
    # Division by zero is an evaluation error, on the service's counters, not a syntax error.
    formula = "$TargetDedicatedNodes = 1 / ($PendingTasks - $PendingTasks);"
    assert check(formula) is None
    with pytest.raises(ValueError, match="division by zero"):
        evaluate(formula, {}, {"$PendingTasks": 3.0})


def _loaded(tmp_path: Path, text: str) -> LoadedSpec:
    path = tmp_path / "f.yaml"
    path.write_text(text)
    loaded = load_spec(path)
    assert isinstance(loaded, LoadedSpec)
    return loaded


def test_positions_inside_a_literal_block_a_plain_and_a_quoted_scalar(tmp_path: Path) -> None:
    loaded = _loaded(
        tmp_path,
        'a:\n  formula: |\n    x = 1;\n    y = mx(x);\n  b: "q = mx(1)"\n  c: q = mx(1)\n',
    )
    block = "x = 1;\ny = mx(x);\n"
    assert formula_position(loaded, ("a", "formula"), block, block.index("mx")) == (4, 9)
    assert formula_position(loaded, ("a", "b"), "q = mx(1)", 4) == (5, 11)
    assert formula_position(loaded, ("a", "c"), "q = mx(1)", 4) == (6, 10)


def test_a_folded_block_is_located_at_its_key(tmp_path: Path) -> None:
    loaded = _loaded(tmp_path, "a:\n  formula: >\n    x = 1;\n    y = mx(x);\n")
    assert formula_position(loaded, ("a", "formula"), "x = 1; y = mx(x);\n", 11) is None
