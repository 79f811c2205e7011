"""Test images built without a registry: root file systems made of this machine's Debian packages.

`busybox` is Debian's busybox-static; `python` adds the files of the python3-minimal and bash
packages with the shared libraries they load. Each is imported into the engine's image store
under a tag made from this file's digest, so a store that has it already is used as is (the
engine's store is the cache the tests share); a change to this file builds them anew.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from batchspec.emulator.engine.containers import Credential, Engine

VERSION = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:12]
BUSYBOX = f"localhost/batchspec-test/busybox:{VERSION}"
PYTHON = f"localhost/batchspec-test/python:{VERSION}"
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
APPLETS = [
    "sh",
    "cat",
    "cp",
    "env",
    "echo",
    "false",
    "head",
    "id",
    "ls",
    "mkdir",
    "mv",
    "pwd",
    "rm",
    "sleep",
    "tail",
    "touch",
    "true",
    "wc",
]


@dataclass(frozen=True)
class ImageSet:
    busybox: str
    python: str


def ensure_images(engine: Engine) -> ImageSet:
    """Both test images in the engine's store, built only when missing."""
    for name, build in ((BUSYBOX, _busybox_root), (PYTHON, _python_root)):
        if not engine.has_image(name):
            with tempfile.TemporaryDirectory(prefix="batchspec-image-") as tmp:
                root = Path(tmp) / "root"
                build(root)
                _import(engine, root, Path(tmp) / "root.tar", name)
    return ImageSet(BUSYBOX, PYTHON)


def push(engine: Engine, image: str, target: str, credential: Credential) -> None:
    """Tag `image` as `target` and push it to its registry, signed in with `credential`."""
    subprocess.run(engine.command("tag", image, target), check=True, capture_output=True)
    with engine.signed_in([credential]) as (args, env):
        tls = engine.tls_args(target)
        argv = engine.command("push", *args, *tls, target)
        subprocess.run(argv, check=True, capture_output=True, env=env, timeout=120)


def _import(engine: Engine, root: Path, tar_path: Path, name: str) -> None:
    with tarfile.open(tar_path, "w") as tar:
        for entry in sorted(root.iterdir()):
            tar.add(entry, arcname=entry.name)
    argv = engine.command("import", "--change", f"ENV PATH={PATH}", str(tar_path), name)
    subprocess.run(argv, check=True, capture_output=True, timeout=300)


def _busybox_root(root: Path) -> None:
    busybox = shutil.which("busybox") or "/bin/busybox"
    # Debian's merged /usr: /bin, /lib... link into /usr, so files copied by either path meet.
    for top in ("bin", "sbin", "lib", "lib64"):
        (root / "usr" / top).mkdir(parents=True)
        os.symlink(f"usr/{top}", root / top)
    (root / "tmp").mkdir(mode=0o1777)
    shutil.copy2(busybox, root / "usr" / "bin" / "busybox")
    for applet in APPLETS:
        os.symlink("busybox", root / "usr" / "bin" / applet)


def _python_root(root: Path) -> None:
    _busybox_root(root)
    python = Path(os.path.realpath("/usr/bin/python3"))
    version = python.name  # e.g. python3.11
    packages = [f"{version}-minimal", f"lib{version}-minimal", "bash"]
    files = subprocess.run(
        ["dpkg-query", "-L", *packages], check=True, capture_output=True, text=True
    ).stdout.splitlines()
    for name in files:
        _copy(Path(name), root)
    for program in (python, Path("/bin/bash")):
        for library in _libraries(program):
            _copy(library, root)
    os.symlink(version, root / "usr" / "bin" / "python3")


def _libraries(program: Path) -> list[Path]:
    out = subprocess.run(["ldd", str(program)], check=True, capture_output=True, text=True).stdout
    found = []
    for line in out.splitlines():
        parts = line.split()
        for part in parts:
            if part.startswith("/"):
                found.append(Path(part))
    return found


def _copy(source: Path, root: Path) -> None:
    """Copy one file (or symlink, and what it points to) to the same path under root."""
    if not source.is_absolute() or not (source.is_file() or source.is_symlink()):
        return
    target = root / source.relative_to("/")
    if target.exists() or target.is_symlink():
        return
    os.makedirs(target.parent, exist_ok=True)
    if source.is_symlink():
        os.symlink(os.readlink(source), target)
        _copy(Path(os.path.realpath(source)), root)
    else:
        shutil.copy2(source, target)
