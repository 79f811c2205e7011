"""Fixtures shared by the apply tests that talk to the session's Azurite."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from azure.storage.blob import BlobServiceClient


@pytest.fixture
def blobs(azurite: Any) -> Iterator[BlobServiceClient]:
    """A Blob service client on the session's Azurite, closed after the test."""
    client = BlobServiceClient.from_connection_string(azurite.connection_string)
    try:
        yield client
    finally:
        client.close()
