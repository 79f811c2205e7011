"""What exists on a target, seen from a spec: checks before anything is created, a run's
status, its task logs, the plan held against live state, and tearing down what runs created.

Everything here reads through the same SDK clients apply uses; only `teardown` deletes.
"""
