"""The docker provider's node image: built by orka, cached by its recipe's content."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

from orka.errors import ImageError
from orka.locks import file_lock
from orka.progress import Emit, step

IMAGE_REPOSITORY = "orka-node"


def recipe_hash(recipe_dir: Path) -> str:
    """A digest of every file of the recipe: any change rebuilds the image."""
    digest = hashlib.sha256()
    for path in sorted(p for p in recipe_dir.rglob("*") if p.is_file()):
        digest.update(path.relative_to(recipe_dir).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()[:12]


def image_tag(recipe_dir: Path) -> str:
    return f"{IMAGE_REPOSITORY}:{recipe_hash(recipe_dir)}"


def image_exists(tag: str) -> bool:
    result = subprocess.run(["docker", "image", "inspect", tag], capture_output=True, check=False)
    return result.returncode == 0


def ensure_image(recipe_dir: Path, lock_dir: Path, emit: Emit) -> str:
    """Return the tag of the node image for this recipe, building it when missing."""
    tag = image_tag(recipe_dir)
    if image_exists(tag):
        return tag
    with file_lock(lock_dir / "image.lock"):
        if image_exists(tag):  # another worker built it while we waited
            return tag
        _check_can_build()
        with step(emit, f"building node image {tag} from {recipe_dir} (debootstrap, about a minute)"):
            _run_build(recipe_dir, tag, emit)
    return tag


def _check_can_build() -> None:
    if shutil.which("debootstrap") is None:
        raise ImageError("debootstrap not found: apt-get install debootstrap (make spike installs it)")
    if os.geteuid() != 0:
        raise ImageError("building the node image needs root (debootstrap and chroot): run as root")


def _run_build(recipe_dir: Path, tag: str, emit: Emit) -> None:
    process = subprocess.Popen(
        ["bash", str(recipe_dir / "build.sh"), tag, tag.split(":", 1)[1]],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    tail: list[str] = []
    for line in process.stdout:
        line = line.rstrip()
        tail = ([*tail, line])[-30:]
        if line.startswith("[image]"):
            emit(f"[orka]   {line}")
    if process.wait() != 0:
        raise ImageError(f"node image build failed ({recipe_dir}/build.sh):\n" + "\n".join(tail))
