"""A Language Server Protocol client over stdio, as small as an editor's needs here: start the
server, initialize it, open documents, ask for completion and hover, collect diagnostics.

Messages are JSON-RPC 2.0 framed by `Content-Length` headers. A reader thread queues what the
server sends; requests the server makes of the editor (configuration, capability
registration) are answered at once, as an editor would.
"""

from __future__ import annotations

import json
import queue
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

WAIT_SECONDS = 60.0

Message = dict[str, Any]


class LanguageServerError(RuntimeError):
    pass


class LanguageServer:
    def __init__(self, command: list[str], settings: dict[str, Any]) -> None:
        self.settings = settings
        self._proc = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        self._next_id = 0
        self._inbox: queue.Queue[Message | None] = queue.Queue()
        self._held: list[Message] = []
        threading.Thread(target=self._read, daemon=True).start()

    def initialize(self, root: Path) -> Message:
        capabilities = {
            "textDocument": {
                "hover": {"contentFormat": ["markdown", "plaintext"]},
                "completion": {"completionItem": {"documentationFormat": ["markdown"]}},
                "publishDiagnostics": {},
            },
            "workspace": {"configuration": True},
        }
        params = {"processId": None, "rootUri": root.as_uri(), "capabilities": capabilities}
        result: Message = self.request("initialize", params)
        self.notify("initialized", {})
        self.notify("workspace/didChangeConfiguration", {"settings": self.settings})
        return result

    def open(self, path: Path, text: str) -> str:
        uri = path.as_uri()
        document = {"uri": uri, "languageId": "yaml", "version": 1, "text": text}
        self.notify("textDocument/didOpen", {"textDocument": document})
        return uri

    def diagnostics(self, uri: str) -> list[Message]:
        """The diagnostics the server publishes next for `uri`."""

        def wanted(m: Message) -> bool:
            return (
                m.get("method") == "textDocument/publishDiagnostics" and m["params"]["uri"] == uri
            )

        found: list[Message] = self._wait(wanted, f"diagnostics of {uri}")["params"]["diagnostics"]
        return found

    def at(self, method: str, uri: str, line: int, character: int) -> Any:
        position = {"line": line, "character": character}
        return self.request(method, {"textDocument": {"uri": uri}, "position": position})

    def request(self, method: str, params: Any) -> Any:
        self._next_id += 1
        ident = self._next_id
        self._send({"id": ident, "method": method, "params": params})
        answer = self._wait(lambda m: m.get("id") == ident and "method" not in m, method)
        if "error" in answer:
            raise LanguageServerError(f"{method}: {answer['error']}")
        return answer.get("result")

    def notify(self, method: str, params: Any) -> None:
        self._send({"method": method, "params": params})

    def close(self) -> None:
        try:
            self.request("shutdown", None)
            self.notify("exit", None)
            self._proc.wait(timeout=10)
        except (LanguageServerError, OSError, subprocess.TimeoutExpired):
            self._proc.kill()
            self._proc.wait(timeout=10)
        finally:
            for stream in (self._proc.stdin, self._proc.stdout, self._proc.stderr):
                if stream is not None:
                    stream.close()

    def _send(self, message: Message) -> None:
        assert self._proc.stdin is not None
        body = json.dumps({"jsonrpc": "2.0", **message}).encode()
        self._proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self._proc.stdin.flush()

    def _read(self) -> None:
        assert self._proc.stdout is not None
        stream = self._proc.stdout
        try:
            while True:
                length = None
                while True:
                    header = stream.readline()
                    if not header:
                        return
                    if header.strip() == b"":
                        break
                    name, _, value = header.decode("ascii").partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(value)
                if length is not None:
                    self._inbox.put(json.loads(stream.read(length)))
        except (OSError, ValueError):
            return
        finally:
            self._inbox.put(None)

    def _wait(self, wanted: Callable[[Message], bool], what: str) -> Message:
        for i, message in enumerate(self._held):
            if wanted(message):
                return self._held.pop(i)
        while True:
            try:
                message = self._inbox.get(timeout=WAIT_SECONDS)
            except queue.Empty:
                raise LanguageServerError(f"no {what} within {WAIT_SECONDS:.0f} s") from None
            if message is None:
                raise LanguageServerError(f"the server exited while waiting for {what}")
            if "method" in message and "id" in message:
                self._answer(message)
            elif wanted(message):
                return message
            else:
                self._held.append(message)

    def _answer(self, request: Message) -> None:
        result: Any = None
        if request["method"] == "workspace/configuration":
            result = [self.settings.get(item.get("section")) for item in request["params"]["items"]]
        self._send({"id": request["id"], "result": result})
