"""Task files (the task directory on its node) and node files (the node's root directory):
which directory a request names, which files it may see, and their properties.
"""

from __future__ import annotations

import datetime as dt
import mimetypes
import os
import shutil
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from batchspec.emulator.service import errors, nodes, tasks
from batchspec.emulator.service.layout import node_dirs
from batchspec.emulator.service.runtime import Live
from batchspec.emulator.service.values import Doc, iso


@dataclass(frozen=True)
class Directory:
    """The directory a files request is about, and the URL of its `files` collection."""

    base: Path
    url: str


def task_directory(live: Live, job_id: str, task_id: str) -> Directory:
    """A task's directory on the node it ran on (409 while it has none)."""
    task = tasks.get(live, job_id, task_id)
    node_id = (task.get("nodeInfo") or {}).get("nodeId")
    if not node_id:
        if task["state"] == "active":
            raise errors.task_not_yet_started()
        # Completed without ever running (terminated while queued): Batch's code for a task
        # whose files cannot be had.
        raise errors.task_files_unavailable()
    job = live.store.get_job(job_id) or {"id": job_id}
    base = node_dirs(live.data_dir, node_id).task_dir(job["id"], task["id"])
    return Directory(base, f"{live.endpoint}/jobs/{job_id}/tasks/{task['id']}/files")


def node_directory(live: Live, pool_id: str, node_id: str) -> Directory:
    """A node's root directory."""
    node = nodes.get(live, pool_id, node_id)
    return Directory(
        node_dirs(live.data_dir, node["id"]).root,
        f"{live.endpoint}/pools/{pool_id}/nodes/{node['id']}/files",
    )


def resolve(base: Path, relative: str) -> Path:
    """The file `relative` names under `base`; 404 FileNotFound when absent or outside."""
    try:
        target = (base / relative).resolve()
        root = base.resolve()
        if target != root and root not in target.parents:
            raise errors.file_not_found()
        if not target.exists():
            raise errors.file_not_found()
    except (OSError, RuntimeError):  # a name too long for the file system; a loop of links
        # (Path.resolve reports a loop as RuntimeError)
        raise errors.file_not_found() from None
    return target


def properties(path: Path) -> Doc:
    """A file's properties as Batch lists them; a symbolic link as the link it is.

    A link is listed with its own size and mode (lrwxrwxrwx), not its target's: the target may
    lie outside the task directory, and its size and mode are none of the listing's business.
    """
    st = path.lstat()
    link = stat.S_ISLNK(st.st_mode)
    created = dt.datetime.fromtimestamp(st.st_ctime, dt.UTC)
    modified = dt.datetime.fromtimestamp(st.st_mtime, dt.UTC)
    directory = stat.S_ISDIR(st.st_mode)
    out: Doc = {
        "creationTime": iso(created),
        "lastModified": iso(modified),
        "contentLength": 0 if directory else st.st_size,
        "fileMode": oct(st.st_mode),
    }
    if stat.S_ISREG(st.st_mode) or link:
        out["contentType"] = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return out


def _walk(base: Path, recursive: bool) -> list[Path]:
    """Everything under `base`, without following links into other directories."""
    if not recursive:
        return sorted(base.iterdir())
    found: list[Path] = []
    for here, dirs, names in os.walk(base, followlinks=False):
        found.extend(Path(here, n) for n in (*dirs, *names))
    return sorted(found)


def entries(directory: Directory, recursive: bool) -> Iterator[tuple[int, Doc]]:
    """The directory's entries (cursor, doc), sorted by name; links are not followed."""
    base, url = directory.base, directory.url
    if not base.exists():
        return
    for i, path in enumerate(_walk(base, recursive), 1):
        name = path.relative_to(base).as_posix()
        yield (
            i,
            {
                "name": name,
                "url": f"{url}/{quote(name)}",
                "isDirectory": stat.S_ISDIR(path.lstat().st_mode),
                "properties": properties(path),
            },
        )


def deletable(base: Path, relative: str) -> Path:
    """The entry a DELETE names: never the directory's root, and a link rather than its target.

    `DELETE .../files/?recursive=true` deleted the whole task directory (on a node, its root),
    and a link was resolved first, so its target was deleted. What cannot be resolved (a
    dangling link, a loop, a path outside the directory) is 404 FileNotFound, as before.
    """
    parts = [p for p in relative.replace("\\", "/").split("/") if p not in ("", ".")]
    if not parts:
        raise errors.invalid_uri(f"files/{relative}")
    resolved = resolve(base, relative)
    lexical = base.joinpath(*parts)
    if ".." not in parts and lexical.is_symlink():
        return lexical
    if resolved == base.resolve():
        raise errors.invalid_uri(f"files/{relative}")
    return resolved


def delete(path: Path, recursive: bool) -> None:
    """Delete a file or a link, or a directory (only an empty one without recursive, as on
    Batch)."""
    if path.is_dir() and not path.is_symlink():
        if not recursive and any(path.iterdir()):
            raise errors.directory_not_empty()
        shutil.rmtree(path)
    else:
        path.unlink()


def readable(path: Path) -> None:
    """404 for a FIFO, socket or device a task left: reading it could block for ever."""
    if not path.is_file() and not path.is_dir():
        raise errors.file_not_found()
