"""The docker provider's node image: built by orka, cached by its recipe's content."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

from orka.errors import ImageError
from orka.locks import file_lock
from orka.progress import Emit, run_showing, step

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
    code, tail = run_showing(["bash", str(recipe_dir / "build.sh"), tag, tag.split(":", 1)[1]], "[image]", emit)
    if code != 0:
        raise ImageError(f"node image build failed ({recipe_dir}/build.sh):\n" + "\n".join(tail))


TOOLS_REPOSITORY = "orka-node-tools"


def tools_image_tag(base_tag: str, wheelhouse: Path, install_script: Path) -> str:
    digest = hashlib.sha256()
    for part in (base_tag.encode(), wheelhouse.name.encode(), install_script.read_bytes()):
        digest.update(part + b"\0")
    return f"{TOOLS_REPOSITORY}:{digest.hexdigest()[:12]}"


def ensure_tools_image(base_tag: str, wheelhouse: Path, install_script: Path, lock_dir: Path, emit: Emit) -> str:
    """The node image with the wheelhouse's tools already installed by the provisioning script.

    The same script runs again at provisioning and finds its stamp, so nodes
    start with salt and ansible-core in place instead of each spending a
    quarter of a minute of a shared CPU installing them.
    """
    tag = tools_image_tag(base_tag, wheelhouse, install_script)
    if image_exists(tag):
        return tag
    with file_lock(lock_dir / "image.lock"):
        if image_exists(tag):
            return tag
        with step(emit, f"installing the wheelhouse's tools into image {tag}"):
            builder = f"orka-build-{tag.split(':', 1)[1]}"
            subprocess.run(["docker", "rm", "-f", builder], capture_output=True, check=False)
            try:
                run = subprocess.run(
                    [
                        "docker", "run", "--name", builder, "--label", "orka.image=builder",
                        "-v", f"{wheelhouse}:/srv/orka/wheelhouse:ro",
                        "-v", f"{install_script}:/tmp/install-tools.sh:ro",
                        base_tag, "bash", "/tmp/install-tools.sh",
                    ],
                    capture_output=True, text=True, check=False,
                )  # fmt: skip
                if run.returncode != 0:
                    raise ImageError(f"installing tools into the node image failed:\n{run.stdout}{run.stderr}")
                commit = subprocess.run(
                    [
                        "docker", "commit",
                        "--change", 'CMD ["/sbin/init"]',
                        "--change", f"LABEL orka.image=node orka.tools={tag}",
                        builder, tag,
                    ],
                    capture_output=True, text=True, check=False,
                )  # fmt: skip
                if commit.returncode != 0:
                    raise ImageError(f"docker commit of the tools image failed: {commit.stderr.strip()}")
            finally:
                subprocess.run(["docker", "rm", "-f", builder], capture_output=True, check=False)
    return tag
