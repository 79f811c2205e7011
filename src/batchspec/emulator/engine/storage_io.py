"""Resource-file download and output-file upload, against blob URLs (SAS included).

Blocking functions, run in worker threads. Errors carry Batch's failure codes and never the URL's
query string (a SAS signature is a secret).
"""

from __future__ import annotations

import errno
import glob
import itertools
import os
import re
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

from batchspec.emulator.service.values import Doc


@dataclass(frozen=True)
class TransferError(Exception):
    """A resource file or output file could not be transferred."""

    code: str
    message: str


_SIG = re.compile(r"(sig=)[^&\s'\"]+", re.IGNORECASE)


def scrub(text: str) -> str:
    """Text with any SAS signature replaced (error messages may quote a full URL)."""
    return _SIG.sub(r"\1REDACTED", text)


def redact(url: str) -> str:
    """The URL without its query string (where a SAS lives)."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def _inside(base: Path, relative: str) -> Path:
    target = (base / relative).resolve()
    if target != base.resolve() and base.resolve() not in target.parents:
        raise TransferError("InvalidFilePath", f"The file path '{relative}' leaves the directory.")
    return target


def _chmod(path: Path, mode: str | None) -> None:
    if mode:
        try:
            path.chmod(int(mode, 8))
        except ValueError as exc:
            raise TransferError("InvalidFileMode", f"Invalid fileMode '{mode}'.") from exc


def _escaped(url: str) -> str:
    """The URL with the characters a URL may not hold (a space, for one) percent-encoded, as
    the node agent's HTTP client sends it; existing escapes stay."""
    return quote(url, safe=":/?#[]@!$&'()*+,;=%~")


def _http_get(url: str, dest: Path) -> None:
    url = _escaped(url)
    try:
        with urllib.request.urlopen(url, timeout=120) as resp, open(dest, "wb") as out:
            while chunk := resp.read(1 << 20):
                out.write(chunk)
    except urllib.error.HTTPError as exc:
        code = {403: "BlobAccessDenied", 404: "BlobNotFound"}.get(exc.code, "BlobDownloadMiscError")
        raise TransferError(code, f"GET {redact(url)} answered {exc.code}.") from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        message = f"GET {redact(url)} failed: {scrub(str(exc))}"
        code = (
            "DiskFull" if getattr(exc, "errno", None) == errno.ENOSPC else "BlobDownloadMiscError"
        )
        raise TransferError(code, message) from None


def fetch_resource_files(files: list[Doc], wd: Path) -> None:
    """Download every resource file into the working directory `wd`."""
    for spec in files:
        mode = spec.get("fileMode")
        if spec.get("httpUrl"):
            if not spec.get("filePath"):
                raise TransferError("InvalidFilePath", "filePath is required with httpUrl.")
            dest = _inside(wd, spec["filePath"])
            dest.parent.mkdir(parents=True, exist_ok=True)
            _http_get(spec["httpUrl"], dest)
            _chmod(dest, mode)
        elif spec.get("storageContainerUrl"):
            _fetch_container(spec["storageContainerUrl"], spec.get("blobPrefix"), spec, wd)
        else:
            raise TransferError(
                "ResourceFileSourceNotSupported",
                "Only httpUrl and storageContainerUrl resource files are supported locally.",
            )


def _fetch_container(url: str, prefix: str | None, spec: Doc, wd: Path) -> None:
    from azure.core.exceptions import AzureError, HttpResponseError
    from azure.storage.blob import ContainerClient

    base = _inside(wd, spec.get("filePath") or ".")
    try:
        with ContainerClient.from_container_url(url) as container:
            for blob in container.list_blobs(name_starts_with=prefix or None):
                dest = _inside(base, blob.name)
                dest.parent.mkdir(parents=True, exist_ok=True)
                with open(dest, "wb") as out:
                    container.download_blob(blob.name).readinto(out)
                _chmod(dest, spec.get("fileMode"))
    except HttpResponseError as exc:
        code = {403: "ResourceContainerAccessDenied", 404: "ResourceContainerNotFound"}.get(
            exc.status_code or 0, "BlobDownloadMiscError"
        )
        raise TransferError(code, f"Listing {redact(url)} answered {exc.status_code}.") from None
    except ValueError:  # not a container URL (azure-storage-blob refuses it before any I/O)
        raise TransferError(
            "BlobDownloadMiscError", f"{redact(url)} is not a blob container URL."
        ) from None
    except (AzureError, OSError) as exc:
        raise TransferError(
            "BlobDownloadMiscError", f"Reading {redact(url)} failed: {scrub(str(exc))}"
        ) from None


MAX_MATCHES = 100_000
"""Paths one output pattern may match; a `**` through a link to `/` would walk the disk."""


def _outside(path: str, task_dir: str) -> bool:
    real = os.path.realpath(path)
    return real != task_dir and not real.startswith(task_dir + os.sep)


def _matches(pattern: str, wd: Path) -> list[tuple[Path, str]]:
    """Files matching a Batch filePattern (relative to wd), each with its name below the
    pattern's fixed directory part (kept as the blob's relative name).

    Matches are resolved now, at upload time: anything that is, or goes through, a link
    leading out of the task directory (or an absolute or climbing pattern's file elsewhere)
    is refused, so that `passwd_OUTPUT.txt -> /etc/passwd` or `../../batch.sqlite3` never
    reaches the container.
    """
    full = pattern if os.path.isabs(pattern) else str(wd / pattern)
    parts = Path(full).parts
    fixed = [
        p for p in parts[: next((i for i, p in enumerate(parts) if glob.has_magic(p)), len(parts))]
    ]
    root = Path(*fixed) if fixed else Path("/")
    task_dir = os.path.realpath(wd.parent)
    out = []
    hits = list(itertools.islice(glob.iglob(full, recursive=True), MAX_MATCHES + 1))
    if len(hits) > MAX_MATCHES:
        raise TransferError(
            "FileUploadMiscError",
            f"The file pattern '{pattern}' matches more than {MAX_MATCHES:,} paths.",
        )
    for hit in sorted(hits):
        path = Path(hit)
        if not path.is_file():
            continue
        rel = path.name if not glob.has_magic(full) else str(path.relative_to(root))
        if _outside(hit, task_dir):
            raise TransferError(
                "FileUploadMiscError",
                f"The file '{rel}' matched by the file pattern '{pattern}' is outside the "
                "task directory (or a link leading out of it); it is not uploaded.",
            )
        out.append((path, rel))
    return out


def upload_outputs(outputs: list[Doc], wd: Path, succeeded: bool) -> None:
    """Upload the output files whose uploadCondition matches the task's result."""
    from azure.core.exceptions import AzureError
    from azure.storage.blob import ContainerClient

    for spec in outputs:
        condition = (spec.get("uploadOptions") or {}).get("uploadCondition", "tasksuccess")
        condition = condition.lower()
        if (condition == "tasksuccess" and not succeeded) or (
            condition == "taskfailure" and succeeded
        ):
            continue
        dest = (spec.get("destination") or {}).get("container") or {}
        url = dest.get("containerUrl")
        if not url:
            raise TransferError(
                "FileUploadMiscError", "outputFiles destination has no containerUrl."
            )
        pattern = spec.get("filePattern", "")
        path = dest.get("path") or ""
        wildcard = glob.has_magic(pattern)
        try:
            with ContainerClient.from_container_url(url) as container:
                for file, rel in _matches(pattern, wd):
                    if wildcard:
                        name = f"{path.rstrip('/')}/{rel}" if path else rel
                    else:
                        name = path or file.name
                    with open(file, "rb") as data:
                        container.upload_blob(name, data, overwrite=True)
        except ValueError:  # not a container URL (azure-storage-blob refuses it before any I/O)
            raise TransferError(
                "FileUploadMiscError", f"{redact(url)} is not a blob container URL."
            ) from None
        except (AzureError, OSError) as exc:
            raise TransferError(
                "FileUploadMiscError", f"Uploading to {redact(url)} failed: {type(exc).__name__}"
            ) from None


def upload_files(container_url: str, files: list[tuple[Path, str]]) -> int:
    """Upload (path, blob name) pairs to a container URL; how many were uploaded."""
    from azure.core.exceptions import AzureError
    from azure.storage.blob import ContainerClient

    try:
        with ContainerClient.from_container_url(container_url) as container:
            for path, name in files:
                with open(path, "rb") as data:
                    container.upload_blob(name, data, overwrite=True)
    except ValueError:  # not a container URL
        return 0
    except (AzureError, OSError):
        return 0
    return len(files)
