"""The host-built wheelhouse of what the nodes install (salt, ansible-core)."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from orka.errors import OrkaError
from orka.locks import file_lock
from orka.progress import Emit, step


def wheelhouse_dir(requirements: Path, cache_dir: Path) -> Path:
    """Where the wheelhouse for these pins lives: named by their content."""
    digest = hashlib.sha256(requirements.read_bytes()).hexdigest()[:12]
    return cache_dir / digest


def ensure_wheelhouse(requirements: Path, cache_dir: Path, emit: Emit) -> Path:
    """Return the wheelhouse folder for these pins, building it with pip when missing."""
    target = wheelhouse_dir(requirements, cache_dir)
    if target.is_dir():
        return target
    with file_lock(cache_dir / "wheelhouse.lock"):
        if target.is_dir():
            return target
        with step(emit, f"building the wheelhouse from {requirements.name} (pip wheel, about a minute)"):
            # Built aside and renamed, so a crash never leaves half a wheelhouse.
            partial = Path(tempfile.mkdtemp(prefix="partial-", dir=cache_dir))
            result = subprocess.run(
                [sys.executable, "-m", "pip", "wheel", "--quiet", "-w", str(partial), "-r", str(requirements)],
                capture_output=True,
                text=True,
                check=False,
            )
            if result.returncode != 0:
                shutil.rmtree(partial, ignore_errors=True)
                errors = [line for line in result.stderr.splitlines() if "WARNING" not in line]
                raise OrkaError("pip wheel failed for the wheelhouse:\n" + "\n".join(errors[-15:]))
            shutil.copy2(requirements, partial / "requirements.txt")
            partial.chmod(0o755)
            partial.rename(target)
    return target
