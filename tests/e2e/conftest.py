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
from urllib.parse import parse_qs, quote

import pytest

from batchspec.targets import Target, azure_target

_SIGNATURE = re.compile(r"sig=(?!REDACTED)[^&\s'\"]+")
# A signature on its own (no `sig=`): 32 bytes of HMAC in base64, possibly URL-encoded.
_B64 = r"(?:[A-Za-z0-9+/]|%2[BbFf])"
_BARE_SIGNATURE = re.compile(rf"(?<![A-Za-z0-9+/%]){_B64}{{43}}(?:=|%3[Dd])(?![A-Za-z0-9+/=%])")


def _fragments(signature: str) -> list[str]:
    """Pieces such that any 24 characters of `signature` (or its URL form) hold one of them."""
    out = []
    for form in {signature, quote(signature, safe="")}:
        out += [form[k : k + 16] for k in range(0, len(form) - 15, 8)]
    return out


class SecretCheck:
    """Collects output; `verify` fails if any of it holds a signature or a key.

    Besides `sig=...`, it looks for signatures without their prefix and for pieces of every
    signature the test issued (a tail or a slice cut through one leaves a piece).
    """

    def __init__(self, keys: list[str]) -> None:
        self.keys = [k for k in keys if k]
        self.texts: list[tuple[str, str]] = []
        self.issued: list[str] = []
        """The signatures of the SAS tokens issued during the test."""

    def add(self, label: str, text: str) -> str:
        self.texts.append((label, text))
        return text

    def add_files(self, root: Path, exclude: tuple[str, ...] = ()) -> None:
        """Every log file under `root` (e.g. the data directory's logs) but those named."""
        for path in sorted(root.rglob("*.log")):
            if path.name not in exclude:
                self.add(str(path), path.read_text(errors="replace"))

    def _fragment_in(self, text: str) -> str | None:
        for signature in self.issued:
            for piece in _fragments(signature):
                if piece in text:
                    return piece
        return None

    def leaks(self, text: str) -> bool:
        """Whether `text` holds a SAS signature (or a piece of one) or one of the keys."""
        return (
            _SIGNATURE.search(text) is not None
            or _BARE_SIGNATURE.search(text) is not None
            or self._fragment_in(text) is not None
            or any(k in text for k in self.keys)
        )

    def verify(self) -> None:
        for label, text in self.texts:
            found = _SIGNATURE.search(text)
            assert found is None, f"{label}: a SAS signature was printed: {found.group(0)[:12]}..."
            bare = _BARE_SIGNATURE.search(text)
            assert bare is None, f"{label}: a signature was printed: {bare.group(0)[:6]}..."
            piece = self._fragment_in(text)
            assert piece is None, f"{label}: a piece of an issued signature was printed"
            for key in self.keys:
                assert key not in text, f"{label}: an account key was printed"


@pytest.fixture(autouse=True)
def secret_check(
    request: pytest.FixtureRequest,
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[SecretCheck]:
    """Autouse: after each test, no SAS signature or account key in anything it output."""
    from batchspec.emulator.api.auth import DEFAULT_KEY
    from batchspec.local.services import AZURITE_KEY

    check = SecretCheck([DEFAULT_KEY, AZURITE_KEY])
    _record_issued_signatures(monkeypatch, check.issued)
    yield check
    out, err = capfd.readouterr()
    check.add("stdout", out)
    check.add("stderr", err)
    check.add("logging", caplog.text)
    check.verify()


def _record_issued_signatures(monkeypatch: pytest.MonkeyPatch, issued: list[str]) -> None:
    """Keep the signature of every SAS token batchspec issues in this process."""
    import batchspec.apply.sas as sas

    for name in ("generate_blob_sas", "generate_container_sas"):
        original = getattr(sas, name)

        def recording(*args: Any, _original: Any = original, **kwargs: Any) -> str:
            token: str = _original(*args, **kwargs)
            issued.extend(parse_qs(token).get("sig", []))
            return token

        monkeypatch.setattr(sas, name, recording)


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
