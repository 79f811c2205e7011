"""Which of a task's exitConditions applies to how it ended (Batch's matching order)."""

from __future__ import annotations

from batchspec.emulator.service.values import Doc


def exit_options(task: Doc, exit_code: int | None, kind: str | None) -> Doc:
    """The ExitOptions that apply to how the task ended (exitConditions), or {}.

    `kind` is "preprocessing" (resource files or the process could not start), "fileupload",
    or another ending judged by its exit code.
    """
    cond = task.get("exitConditions") or {}
    if kind == "preprocessing":
        return dict(cond.get("preProcessingError") or cond.get("default") or {})
    if kind == "fileupload":
        return dict(cond.get("fileUploadError") or cond.get("default") or {})
    if exit_code is not None:
        for m in cond.get("exitCodes") or []:
            if m.get("code") == exit_code:
                return dict(m.get("exitOptions") or {})
        for r in cond.get("exitCodeRanges") or []:
            if r.get("start", 0) <= exit_code <= r.get("end", -1):
                return dict(r.get("exitOptions") or {})
        if exit_code == 0:
            return {}
    return dict(cond.get("default") or {})
