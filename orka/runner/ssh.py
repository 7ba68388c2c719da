"""One SSH session per host per run, through OpenSSH with connection sharing.

OpenSSH rather than a Python SSH library: the system client's handshake is
native code, and ControlMaster keeps one connection per host open between
runs, so a run after the first costs no handshake at all.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from orka.runner.inventory import Host, InventoryError

# One folder per user for the shared connections' sockets (never another user's).
CONTROL_DIR = Path(os.environ.get("ORKA_SSH_CONTROL_DIR") or f"/tmp/orka-ssh-{os.getuid()}")
SSH_OPTIONS = (
    "-o", "BatchMode=yes",
    "-o", "ConnectTimeout=10",
    "-o", "ServerAliveInterval=5",
    "-o", "ServerAliveCountMax=2",
    "-o", "ControlMaster=auto",
    "-o", "ControlPersist=60s",
    "-o", f"ControlPath={CONTROL_DIR}/%C",
    "-o", "LogLevel=ERROR",
)  # fmt: skip


def ensure_control_dir() -> None:
    CONTROL_DIR.mkdir(mode=0o700, parents=True, exist_ok=True)
    stat = CONTROL_DIR.stat()
    if stat.st_uid != os.getuid() or stat.st_mode & 0o077:
        raise InventoryError(
            f"{CONTROL_DIR} (SSH connection sockets) must be yours and mode 0700; "
            "remove it, or set ORKA_SSH_CONTROL_DIR to a folder of your own"
        )


def ssh_command(host: Host, remote: str) -> list[str]:
    argv = ["ssh", *SSH_OPTIONS]
    if host.ssh_config:
        return [*argv, "-F", host.ssh_config, host.name, remote]
    argv += ["-o", "StrictHostKeyChecking=accept-new", *host.ssh_options, "-p", str(host.port)]
    if host.key:
        argv += ["-i", host.key, "-o", "IdentitiesOnly=yes"]
    target = f"{host.user}@{host.address}" if host.user else host.address
    return [*argv, target, remote]


async def run_over_ssh(host: Host, remote: str, stdin: bytes, timeout: float) -> tuple[int, str, str]:
    """(exit code, stdout, stderr); exit 124 when the host took longer than timeout."""
    ensure_control_dir()
    process = await asyncio.create_subprocess_exec(
        *ssh_command(host, remote),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(stdin), timeout)
    except TimeoutError:
        process.kill()
        await process.wait()
        return 124, "", f"no answer within {timeout:.0f} s"
    return process.returncode or 0, out.decode(errors="replace"), err.decode(errors="replace")
