"""Connections that send nothing, a request head, or a body too slowly are closed; a request
sent in time is answered. A real uvicorn server with the service's protocol, on loopback."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator

import pytest
import uvicorn

from batchspec.emulator.api import timeouts
from batchspec.emulator.api.timeouts import TimedH11Protocol

pytestmark = pytest.mark.timeout(60)


async def _app(scope: dict[str, object], receive: object, send: object) -> None:
    assert scope["type"] in ("http", "lifespan")
    if scope["type"] == "lifespan":
        return
    while True:
        message = await receive()  # type: ignore[operator]
        if not message.get("more_body"):
            break
    await send({"type": "http.response.start", "status": 200, "headers": []})  # type: ignore[operator]
    await send({"type": "http.response.body", "body": b"ok"})  # type: ignore[operator]


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    monkeypatch.setattr(timeouts, "HEAD_TIMEOUT", 0.5)
    monkeypatch.setattr(timeouts, "BODY_TIMEOUT", 0.5)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(_app, http=TimedH11Protocol, lifespan="off", log_config=None)
    served = uvicorn.Server(config)
    thread = threading.Thread(target=lambda: asyncio.run(served.serve(sockets=[sock])))
    thread.start()
    try:
        while not served.started:
            threading.Event().wait(0.01)
        yield sock.getsockname()[1]
    finally:
        served.should_exit = True
        thread.join(10)
        sock.close()


def _closed(conn: socket.socket) -> bool:
    """Whether the server closes the connection (read until EOF, at most 10 s)."""
    conn.settimeout(10)
    try:
        while conn.recv(1024):
            pass
    except TimeoutError:
        return False
    except ConnectionResetError:
        pass
    return True


def test_a_connection_that_sends_nothing_is_closed(server: int) -> None:
    with socket.create_connection(("127.0.0.1", server)) as conn:
        assert _closed(conn)


def test_a_request_head_sent_too_slowly_is_closed(server: int) -> None:
    with socket.create_connection(("127.0.0.1", server)) as conn:
        conn.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # never finished
        assert _closed(conn)


def test_a_body_sent_too_slowly_is_closed(server: int) -> None:
    with socket.create_connection(("127.0.0.1", server)) as conn:
        conn.sendall(b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\nx")
        assert _closed(conn)


def test_a_request_in_time_is_answered(server: int) -> None:
    with socket.create_connection(("127.0.0.1", server), timeout=10) as conn:
        conn.sendall(b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 2\r\n\r\nab")
        assert conn.recv(1024).startswith(b"HTTP/1.1 200")
