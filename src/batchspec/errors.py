"""One error hierarchy for every command: each error carries its exit code and a user message.

The CLI maps a BatchspecError once (`batchspec.cli`): the message on stderr as `error: ...`,
then the exit code. Anything else that escapes a command is a bug: the CLI says so, writes the
redacted traceback to a log file and names it.

Exit codes (the same table is in the README and in each command's --help):

- validate: 0 every spec is valid, 1 some spec is invalid, 2 usage error (the linter
  convention that pre-commit and CI rely on);
- plan, apply and later verbs: 0 done, 1 the operation failed (a task or the run failed),
  2 the spec, a --var or the target configuration is wrong and nothing was done, 3 no run to
  report on (reserved for a status verb), 130 interrupted (Ctrl-C or SIGTERM).
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_NO_RUN = 3
EXIT_INTERRUPTED = 130

EXIT_CODES_HELP = """\
\b
Exit codes:
  0    done (for apply: every task succeeded and every output arrived)
  1    the operation failed (a task failed, or the run failed)
  2    the spec, a --var or the target configuration is wrong; nothing was done
  130  interrupted (Ctrl-C or SIGTERM)
"""


class BatchspecError(Exception):
    """A failure batchspec knows how to explain: a one-line message and an exit code."""

    exit_code = EXIT_FAILED

    def __init__(self, message: str, exit_code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if exit_code is not None:
            self.exit_code = exit_code

    def __str__(self) -> str:
        return self.message

    def lines(self) -> list[str]:
        """What the CLI prints on stderr for this error."""
        return [f"error: {self.message}"]


class UsageError(BatchspecError):
    """The command line is wrong (a malformed --var, a missing argument); nothing was done."""

    exit_code = EXIT_USAGE


class SpecError(BatchspecError):
    """The spec has problems; they were printed as located diagnostics; nothing was done."""

    exit_code = EXIT_USAGE


class ConfigError(BatchspecError):
    """The target's configuration is missing or malformed; the message says what to set."""

    exit_code = EXIT_USAGE


class RunFailed(BatchspecError):
    """A step of a run could not be done; the message says why and what to do."""

    exit_code = EXIT_FAILED


class Interrupted(BatchspecError):
    """Ctrl-C or SIGTERM."""

    exit_code = EXIT_INTERRUPTED
