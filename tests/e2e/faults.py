"""A fault-injecting HTTP proxy for end-to-end tests: it sits in front of a real service on
127.0.0.1 and, by rule, answers chosen requests with a Batch-style 503, drops the connection
before forwarding, or forwards the request and then drops the connection (the service acted,
the client never hears of it).

Requests are forwarded byte for byte (method, path, query, headers, body): Shared Key
signatures cover the method, the signed headers, the path and the query but not the Host,
so a request signed for the proxy's address stays valid at the service.
"""

from __future__ import annotations

import http.client
import json
import re
import socket
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Literal
from urllib.parse import urlsplit

Action = Literal["busy", "drop", "lose", "hang"]
"""busy: 503 ServerBusy, not forwarded; drop: close the connection, not forwarded;
lose: forward, let the service act, then close the connection without answering;
hang: hold the connection without answering until the proxy stops (or HANG_SECONDS)."""
HANG_SECONDS = 120.0

_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade"}


@dataclass
class Rule:
    """Requests whose method matches and whose path (without query) matches `path` (a regex
    searched, not matched) get `action`, `times` times (None: always)."""

    method: str
    path: str
    action: Action
    times: int | None = 1
    hits: int = 0

    def take(self, method: str, path: str) -> bool:
        if method != self.method or re.search(self.path, path) is None:
            return False
        if self.times is not None and self.hits >= self.times:
            return False
        self.hits += 1
        return True


@dataclass
class FaultProxy:
    """The proxy's rules and a log of every request it saw, as (method, path, what happened)."""

    upstream: str
    url: str = ""
    rules: list[Rule] = field(default_factory=list)
    seen: list[tuple[str, str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    stopping: threading.Event = field(default_factory=threading.Event)

    def add(self, method: str, path: str, action: Action, times: int | None = 1) -> Rule:
        """Inject `action` into the next `times` matching requests (None: all of them)."""
        rule = Rule(method, path, action, times)
        with self.lock:
            self.rules.append(rule)
        return rule

    def clear(self) -> None:
        """Lift every fault: from now on every request is forwarded."""
        with self.lock:
            self.rules.clear()

    def decide(self, method: str, path: str) -> Action | None:
        with self.lock:
            for rule in self.rules:
                if rule.take(method, path):
                    self.seen.append((method, path, rule.action))
                    return rule.action
            self.seen.append((method, path, "forwarded"))
            return None

    def count(self, method: str, path: str, outcome: str | None = None) -> int:
        """How many requests matched `method` and the `path` regex (and had `outcome`)."""
        with self.lock:
            return sum(
                1
                for m, p, o in self.seen
                if m == method and re.search(path, p) and (outcome is None or o == outcome)
            )


def busy_body(url: str) -> bytes:
    """A Batch error body for ServerBusy, in the service's OData shape."""
    return json.dumps(
        {
            "odata.metadata": f"{url}/$metadata#Microsoft.Azure.Batch.Protocol.Entities"
            ".Container.errors/@Element",
            "code": "ServerBusy",
            "message": {
                "lang": "en-US",
                "value": "The server is currently unable to receive requests. Please retry "
                "your request.",
            },
        }
    ).encode()


def _handler(proxy: FaultProxy) -> type[BaseHTTPRequestHandler]:
    target = urlsplit(proxy.upstream)
    host, port = target.hostname or "127.0.0.1", target.port or 80

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass  # quiet: the test reads `proxy.seen`

        def _any(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            path = urlsplit(self.path).path
            action = proxy.decide(self.command, path)
            if action == "hang":
                proxy.stopping.wait(HANG_SECONDS)
            if action in ("drop", "hang"):
                self._drop()
                return
            if action == "busy":
                self._answer(503, {"Content-Type": "application/json"}, busy_body(proxy.url))
                return
            upstream = http.client.HTTPConnection(host, port, timeout=60)
            try:
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
                upstream.request(self.command, self.path, body=body or None, headers=headers)
                response = upstream.getresponse()
                data = response.read()
                answer = {k: v for k, v in response.getheaders() if k.lower() not in _HOP_BY_HOP}
            finally:
                upstream.close()
            if action == "lose":
                self._drop()
                return
            answer.pop("Content-Length", None)
            answer.pop("content-length", None)
            self._answer(response.status, answer, data)

        def _answer(self, status: int, headers: dict[str, str], body: bytes) -> None:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _drop(self) -> None:
            self.close_connection = True
            # An abortive close (RST), as when a load balancer drops the connection.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _any

    return Handler


@contextmanager
def fault_proxy(upstream: str) -> Iterator[FaultProxy]:
    """A FaultProxy for `upstream` (http://host:port), listening on a free loopback port."""
    proxy = FaultProxy(upstream)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(proxy))
    server.daemon_threads = True
    proxy.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, name="fault-proxy", daemon=True)
    thread.start()
    try:
        yield proxy
    finally:
        proxy.stopping.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
