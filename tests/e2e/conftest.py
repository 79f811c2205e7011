"""End-to-end fixtures for apply: a target on the session's emulator and Azurite, and a check
that nothing a test printed or logged contains a SAS signature or an account key.

Tests register every output they capture (CLI output, subprocess output) with `secret_check`;
the check also reads what pytest captured on the file descriptors and in logging.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from batchspec.targets import Target, azure_target

_SIGNATURE = re.compile(r"sig=(?!REDACTED)[^&\s'\"]+")


class SecretCheck:
    """Collects output; `verify` fails if any of it holds a signature or a key."""

    def __init__(self, keys: list[str]) -> None:
        self.keys = [k for k in keys if k]
        self.texts: list[tuple[str, str]] = []

    def add(self, label: str, text: str) -> str:
        self.texts.append((label, text))
        return text

    def add_files(self, root: Path, exclude: tuple[str, ...] = ()) -> None:
        """Every log file under `root` (e.g. the data directory's logs) but those named."""
        for path in sorted(root.rglob("*.log")):
            if path.name not in exclude:
                self.add(str(path), path.read_text(errors="replace"))

    def leaks(self, text: str) -> bool:
        """Whether `text` holds a SAS signature or one of the keys."""
        return _SIGNATURE.search(text) is not None or any(k in text for k in self.keys)

    def verify(self) -> None:
        for label, text in self.texts:
            found = _SIGNATURE.search(text)
            assert found is None, f"{label}: a SAS signature was printed: {found.group(0)[:12]}..."
            for key in self.keys:
                assert key not in text, f"{label}: an account key was printed"


@pytest.fixture(autouse=True)
def secret_check(
    request: pytest.FixtureRequest,
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> Iterator[SecretCheck]:
    """Autouse: after each test, no SAS signature or account key in anything it output."""
    from batchspec.emulator.api.auth import DEFAULT_KEY
    from batchspec.local.services import AZURITE_KEY

    check = SecretCheck([DEFAULT_KEY, AZURITE_KEY])
    yield check
    out, err = capfd.readouterr()
    check.add("stdout", out)
    check.add("stderr", err)
    check.add("logging", caplog.text)
    check.verify()


def azure_env(batch_service: Any, azurite: Any) -> dict[str, str]:
    """The az-CLI-style environment pointing at the session's local services."""
    return {
        "AZURE_BATCH_ENDPOINT": batch_service.endpoint,
        "AZURE_BATCH_ACCOUNT": batch_service.account,
        "AZURE_BATCH_ACCESS_KEY": batch_service.key,
        "AZURE_STORAGE_CONNECTION_STRING": azurite.connection_string,
    }


@pytest.fixture
def services_target(batch_service: Any, azurite: Any) -> Target:
    """A Target (configured as `azure`) on the session's emulator and Azurite."""
    return azure_target(azure_env(batch_service, azurite))
