"""`python -m batchspec.local.logpipe LOG -- CMD...`: run CMD with every line it prints redacted
into LOG.

Azurite writes its log itself, and a request it logs carries the SAS signature of its URL; run
behind this relay, every line of it passes through batchspec's redactor first (the account key
it was given in AZURITE_ACCOUNTS included). The relay ignores SIGTERM: a stop signals the whole
process group, and the relay keeps copying until the service has written its last line.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from batchspec.redact import redact, register_secret


def main(argv: list[str]) -> int:
    if len(argv) < 3 or argv[1] != "--":
        print("usage: python -m batchspec.local.logpipe LOG -- CMD...", file=sys.stderr)
        return 2
    log, command = argv[0], argv[2:]
    for account in os.environ.get("AZURITE_ACCOUNTS", "").split(";"):
        for key in account.split(":")[1:]:
            register_secret(key)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    child = subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        preexec_fn=lambda: signal.signal(signal.SIGTERM, signal.SIG_DFL),
    )
    assert child.stdout is not None
    fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    with os.fdopen(fd, "ab") as out:
        for line in child.stdout:
            out.write(redact(line.decode("utf-8", errors="replace")).encode())
            out.flush()
    return child.wait()


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
