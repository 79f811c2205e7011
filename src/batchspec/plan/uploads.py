"""The spec's uploads as concrete files: globs expanded relative to the spec, each file checked.

A source named without wildcards may lie outside the spec's directory (`../shared/lib.py`)
but must exist. Globs stay inside the spec's directory and may look at a bounded number of
entries (`batchspec.plan.globs`), so a pattern such as `/**` cannot make `validate` walk a disk.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Sequence
from pathlib import Path

from batchspec.plan.globs import GlobError, bounded_glob
from batchspec.plan.model import UploadPlan
from batchspec.spec.document import JsonPath
from batchspec.spec.model import UploadSpec
from batchspec.spec.render import Renderer

MAX_FILES_PER_SOURCE = 10_000
"""More files than this from one upload source is refused rather than listed."""
MAX_BLOB_NAME = 1_024
"""Azure Storage's limit on the length of a blob name."""


def plan_uploads(
    renderer: Renderer, uploads: Sequence[UploadSpec], spec_dir: Path
) -> tuple[UploadPlan, ...]:
    """One UploadPlan per file; problems (no match, clashing blob names) are reported."""
    out: list[UploadPlan] = []
    sources: dict[tuple[str, str], Path] = {}
    for upload in uploads:
        where = (*upload.where, "source")
        renderer.watchdog.where = where
        for path in _match_files(renderer, upload.source, spec_dir, where):
            blob = upload.prefix + path.name
            if len(blob) > MAX_BLOB_NAME:
                renderer.report(
                    (*upload.where, "prefix"),
                    f"the blob name for {path.name!r} would be {len(blob):,} characters; "
                    f"Azure Storage allows at most {MAX_BLOB_NAME:,}",
                )
                continue
            first = sources.setdefault((upload.container, blob), path)
            if first != path:
                renderer.report(
                    where,
                    f"{path} and {first} would both be uploaded as blob {blob!r} into "
                    f"container {upload.container!r}",
                )
                continue
            try:
                size = path.stat().st_size
            except OSError as exc:
                renderer.report(where, f"cannot read {path}: {exc.strerror or exc}")
                continue
            out.append(UploadPlan(path, upload.container, blob, size))
    return tuple(out)


def _match_files(renderer: Renderer, source: str, spec_dir: Path, where: JsonPath) -> list[Path]:
    try:
        if not glob.has_magic(source):
            return _one_file(renderer, source, spec_dir, where)
        names = bounded_glob(spec_dir, source)
    except GlobError as exc:
        renderer.report(where, str(exc))
        return []
    except (OSError, ValueError) as exc:  # e.g. a NUL character in the pattern
        renderer.report(where, f"{source!r} cannot be read as a path: {exc}")
        return []
    if len(names) > MAX_FILES_PER_SOURCE:
        renderer.report(
            where,
            f"{source!r} matches more than {MAX_FILES_PER_SOURCE:,} paths; upload a directory "
            "as an archive or narrow the pattern",
        )
        return []
    files = [Path(os.path.abspath(spec_dir / n)) for n in sorted(names)]
    files = [f for f in files if f.is_file()]
    if not files:
        renderer.report(where, f"{source!r} matches no file (relative to {spec_dir})")
    return files


def _one_file(renderer: Renderer, source: str, spec_dir: Path, where: JsonPath) -> list[Path]:
    path = Path(os.path.abspath(spec_dir / source))
    if path.is_file():
        return [path]
    reason = "is a directory (use a glob such as dir/*)" if path.is_dir() else "does not exist"
    renderer.report(where, f"{source!r} ({path}) {reason}")
    return []
