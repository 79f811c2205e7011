"""The local target: the local Batch service and Azurite, run as background services.

Everything batchspec keeps on this machine lives under one data directory (`data_home`):
`local/` for the services' data, logs and state, `runs/` for apply journals.
"""

from __future__ import annotations

import os
from pathlib import Path


def data_home(option: Path | None = None) -> Path:
    """The data directory: the `--data-dir` option, else $BATCHSPEC_HOME, else ~/.batchspec."""
    if option is not None:
        return option.expanduser().resolve()
    env = os.environ.get("BATCHSPEC_HOME", "").strip()
    if env:
        return Path(env).expanduser().resolve()
    return Path.home() / ".batchspec"
