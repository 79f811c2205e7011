"""The autoscale formula language the local service evaluates: the shared one, which
`validate` also uses to check a spec's formula offline (batchspec.autoscale.formula)."""

from batchspec.autoscale.formula import OUTPUTS, FormulaError, evaluate, results

__all__ = ["OUTPUTS", "FormulaError", "evaluate", "results"]
