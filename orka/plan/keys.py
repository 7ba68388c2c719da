"""One SSH key pair per cluster, made by orka and never committed."""

from __future__ import annotations

import subprocess
from pathlib import Path

from orka.errors import ClusterError


def ensure_ssh_keypair(state_dir: Path, comment: str) -> tuple[Path, Path]:
    """Return (private, public) key paths, generating an ed25519 pair if missing."""
    private = state_dir / "id_ed25519"
    public = state_dir / "id_ed25519.pub"
    if private.exists() and public.exists():
        return private, public
    state_dir.mkdir(parents=True, exist_ok=True)
    state_dir.chmod(0o700)
    private.unlink(missing_ok=True)
    public.unlink(missing_ok=True)
    try:
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(private)],
            check=True,
            capture_output=True,
            text=True,
        )
    except FileNotFoundError as exc:
        raise ClusterError("ssh-keygen not found: install openssh-client (make spike does)") from exc
    except subprocess.CalledProcessError as exc:
        raise ClusterError(f"ssh-keygen failed: {exc.stderr.strip()}") from exc
    private.chmod(0o600)
    return private, public
