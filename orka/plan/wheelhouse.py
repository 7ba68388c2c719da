"""The host-built wheelhouse of what the nodes install (salt, ansible-core), one per target Python.

The nodes install offline from it, so it must fit their interpreter, not the host's. For a platform whose
Python is the host's, `pip wheel` on the host makes it. For any other, pip resolves the pins for the
target (`pip download --python-version --abi --platform --only-binary`); what no index publishes as a
wheel for it (an sdist with C code, such as salt's timelib) is compiled on the platform itself: in a
container of its node image, with Debian's compiler and headers, offline.
"""

from __future__ import annotations

import hashlib
import platform
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from orka.config.platforms import Platform
from orka.errors import OrkaError
from orka.locks import file_lock
from orka.progress import Emit, step

# What pip says of a requirement no index has a fitting file for.
NOT_FOUND = re.compile(r"No matching distribution found for (\S+)")
# Each round compiles what the last one found missing; a dependency tree needs few.
MAX_ROUNDS = 8
# What the builder container installs from Debian to compile an sdist for the platform's own Python (its
# setup.py runs with these, not in an isolated build environment: the container has no package index).
BUILD_PACKAGES = ("gcc", "python3-dev", "python3-pip", "python3-setuptools", "python3-wheel", "cython3")


def host_python() -> str:
    return f"{sys.version_info.major}.{sys.version_info.minor}"


def wheelhouse_dir(requirements: Path, cache_dir: Path, target: Platform) -> Path:
    """Where the wheelhouse for these pins and this target lives: named by both."""
    digest = hashlib.sha256(requirements.read_bytes() + f"\0{target.python}\0{target.glibc}".encode())
    return cache_dir / f"{digest.hexdigest()[:12]}-{target.python_tag}"


def ensure_wheelhouse(
    requirements: Path, cache_dir: Path, emit: Emit, target: Platform, builder_image: str = ""
) -> Path:
    """Return the wheelhouse folder for these pins on the target, building it when missing.

    builder_image: the target's node image, where what must be compiled for its Python is compiled;
    "" when there is none (then such a package is an error naming it).
    """
    wanted = wheelhouse_dir(requirements, cache_dir, target)
    if wanted.is_dir():
        return wanted
    cache_dir.mkdir(parents=True, exist_ok=True)
    with file_lock(cache_dir / "wheelhouse.lock"):
        if wanted.is_dir():
            return wanted
        how = "pip wheel" if target.python == host_python() else f"pip download for Python {target.python}"
        with step(emit, f"building the wheelhouse from {requirements.name} for {target.name} ({how}, about a minute)"):
            # Built aside and renamed, so a crash never leaves half a wheelhouse.
            partial = Path(tempfile.mkdtemp(prefix="partial-", dir=cache_dir))
            try:
                if target.python == host_python():
                    _pip(["wheel", "-w", str(partial), "-r", str(requirements)], "pip wheel failed for the wheelhouse")
                else:
                    _for_target(requirements, partial, target, builder_image, emit)
            except BaseException:
                shutil.rmtree(partial, ignore_errors=True)
                raise
            shutil.copy2(requirements, partial / "requirements.txt")
            partial.chmod(0o755)
            partial.rename(wanted)
    return wanted


def target_flags(target: Platform, machine: str | None = None) -> list[str]:
    """pip's flags that resolve for the target's interpreter and C library instead of the host's."""
    arch = machine or platform.machine()
    major, minor = (int(part) for part in target.glibc.split("."))
    tags = [f"manylinux_{major}_{m}_{arch}" for m in range(minor, 4, -1)]
    legacy = [f"manylinux{name}_{arch}" for name, since in (("2014", 17), ("2010", 12), ("1", 5)) if since <= minor]
    flags = ["--only-binary=:all:", "--implementation", "cp", "--python-version", target.python]
    flags += ["--abi", target.python_tag, "--abi", "abi3", "--abi", "none"]
    # linux_<arch>: what was compiled on the target itself (PyPI takes no such wheel).
    return flags + [arg for tag in [*tags, *legacy, f"linux_{arch}"] for arg in ("--platform", tag)]


def _for_target(requirements: Path, out: Path, target: Platform, builder_image: str, emit: Emit) -> None:
    """Resolve the pins for the target; compile on the target what has no wheel for it, round by round."""
    local = out.parent / f"{out.name}-local"
    local.mkdir()
    try:
        # The pins themselves first: a pure-Python project published as an sdist only (salt) is a wheel anywhere.
        _pip(["wheel", "--no-deps", "-w", str(local), "-r", str(requirements)], "pip wheel of the pins failed")
        for wheel in local.glob("*.whl"):
            if not wheel.name.endswith("-none-any.whl"):
                wheel.unlink()  # compiled for the host's Python: made again for the target's below
        compiled: set[str] = set()
        for _ in range(MAX_ROUNDS):
            download = ["download", *target_flags(target), "--find-links", str(local), "-d", str(out)]
            result = _run_pip([*download, "-r", str(requirements)])
            if result.returncode == 0:
                return
            missing = NOT_FOUND.findall(result.stderr)
            if not missing or missing[0] in compiled:
                raise OrkaError(f"pip download for Python {target.python} failed:\n" + _errors(result.stderr))
            compiled.add(missing[0])
            _compile_on_target(missing[0], local, target, builder_image, emit)
        raise OrkaError(f"the wheelhouse for {target.name} still lacks wheels after {MAX_ROUNDS} rounds")
    finally:
        shutil.rmtree(local, ignore_errors=True)


def _compile_on_target(requirement: str, local: Path, target: Platform, builder_image: str, emit: Emit) -> None:
    """The requirement's sdist, fetched on the host, compiled into a wheel in a container of the target."""
    if not builder_image:
        raise OrkaError(
            f"{requirement} publishes no wheel for Python {target.python} ({target.name}) and must be compiled "
            f"there, but {target.name} has no node image to compile it in; fix: a wheel of it in a "
            f"--find-links folder of pip's configuration, or a platform whose Python is the host's ({host_python()})"
        )
    sdists = local.parent / f"{local.name}-sdist"
    sdists.mkdir(exist_ok=True)
    try:
        _pip(
            ["download", "--no-deps", "--no-binary=:all:", "-d", str(sdists), requirement], f"no sdist of {requirement}"
        )
        emit(f"[wheelhouse] compiling {requirement} for Python {target.python} on {builder_image}")
        script = (
            "set -e; export DEBIAN_FRONTEND=noninteractive; apt-get update -qq; "
            f"apt-get install -y -qq --no-install-recommends {' '.join(BUILD_PACKAGES)} >/dev/null; "
            "python3 -m pip wheel --quiet --no-deps --no-build-isolation --no-index -w /out /in/*"
        )
        name = f"orka-build-wheel-{local.name.lower()}"
        run = subprocess.run(
            ["docker", "run", "--rm", "--name", name, "--label", "orka.image=builder",
             "-v", f"{sdists}:/in:ro", "-v", f"{local}:/out", builder_image, "bash", "-c", script],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if run.returncode != 0:
            raise OrkaError(f"compiling {requirement} on {builder_image} failed:\n{_errors(run.stdout + run.stderr)}")
    finally:
        shutil.rmtree(sdists, ignore_errors=True)


def _run_pip(args: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pip", *args, "--quiet"], capture_output=True, text=True, check=False)


def _pip(args: list[str], what: str) -> None:
    result = _run_pip(args)
    if result.returncode != 0:
        raise OrkaError(f"{what}:\n{_errors(result.stderr)}")


def _errors(text: str) -> str:
    return "\n".join([line for line in text.splitlines() if "WARNING" not in line][-15:])
