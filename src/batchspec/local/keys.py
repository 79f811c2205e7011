"""The local target's private keys, and the file modes that keep its data to its owner.

The local Batch service and Azurite used to run on their published development keys, so any
user of the machine could submit tasks (run as whoever started the services) or replace
uploaded inputs. Each data directory now has its own random keys, generated on first use, in
`local/keys.json` (mode 0600) inside `local/` (mode 0700); the services receive them through
their environment, which other users cannot read, never on their command lines, which they can.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import secrets
import stat
from dataclasses import dataclass, field
from pathlib import Path

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600
PRIVATE_UMASK = 0o077
"""The umask the local services run with: nothing they write is readable by other users."""
KEYS_FILE = "keys.json"
EMULATOR_KEY_VARIABLE = "BATCHSPEC_EMULATOR_KEY"
"""Where `batchspec emulator` reads its key when `--key` is not given."""


@dataclass(frozen=True)
class LocalKeys:
    """The account keys of one data directory's local services."""

    batch_key: str = field(repr=False)
    storage_key: str = field(repr=False)


def new_key() -> str:
    """A random 64-byte account key, base64, as Batch and Storage keys are."""
    return base64.b64encode(secrets.token_bytes(64)).decode()


def private_dir(path: Path) -> Path:
    """`path` as a directory only its owner can enter (created if needed)."""
    path.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
    if stat.S_IMODE(path.stat().st_mode) != PRIVATE_DIR:
        path.chmod(PRIVATE_DIR)
    return path


def private_file(path: Path) -> Path:
    """Make an existing file readable by its owner only."""
    with contextlib.suppress(FileNotFoundError):
        if stat.S_IMODE(path.stat().st_mode) & 0o077:
            path.chmod(PRIVATE_FILE)
    return path


def local_keys(root: Path) -> LocalKeys:
    """The keys of the local services kept under `root` (`<home>/local`), made on first use."""
    private_dir(root)
    path = root / KEYS_FILE
    try:
        data = json.loads(private_file(path).read_text())
        return LocalKeys(str(data["batch"]), str(data["storage"]))
    except FileNotFoundError:
        pass
    keys = LocalKeys(new_key(), new_key())
    tmp = root / f".{KEYS_FILE}.{os.getpid()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE)
    with os.fdopen(fd, "w") as out:
        json.dump({"batch": keys.batch_key, "storage": keys.storage_key}, out)
    os.replace(tmp, path)
    return keys


def existing_keys(root: Path) -> LocalKeys | None:
    """The keys under `root` if they were made (for redacting logs), else None."""
    try:
        data = json.loads((root / KEYS_FILE).read_text())
        return LocalKeys(str(data["batch"]), str(data["storage"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None
