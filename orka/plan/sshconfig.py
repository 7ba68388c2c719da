"""The OpenSSH config that reaches a cluster's machines, as `vagrant ssh-config` writes it.

`vagrant up` already prints every machine's SSH address while it boots
("orka-node-1: SSH address: 172.17.0.2:22"). Taking them from there, instead of
a second `vagrant ssh-config` run, saves the 3-4 s of Ruby start-up that the
second call costs on every bring-up (measured on the docker provider).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

# "    orka-node-1: SSH address: 172.17.0.2:22", as Vagrant's docker provider prints it.
_SSH_ADDRESS = re.compile(r"^\s*(?P<machine>[\w.-]+): SSH address: (?P<host>[^\s:]+):(?P<port>\d+)\s*$")
_BOOTED = re.compile(r"^==> (?P<machine>[\w.-]+): Machine booted and ready!\s*$")


@dataclass(frozen=True)
class SshEntry:
    """How to log in to one machine."""

    machine: str
    address: str
    port: int
    user: str
    identity_file: str


def parse_ssh_address(line: str) -> tuple[str, str, int] | None:
    """(machine, address, port) from one line of `vagrant up` output, or None."""
    match = _SSH_ADDRESS.match(line)
    if match is None:
        return None
    return match["machine"], match["host"], int(match["port"])


def parse_booted(line: str) -> str | None:
    """The machine a line of `vagrant up` output says answers over SSH now, or None."""
    match = _BOOTED.match(line)
    return None if match is None else match["machine"]


def _quoted(path: str) -> str:
    return f'"{path}"' if " " in path else path


def render(
    entries: Iterable[SshEntry],
    *,
    known_hosts: str | None = None,
    connect_timeout_s: int | None = None,
    log_level: str = "FATAL",
) -> str:
    """An ssh_config with one `Host` per machine, by orka's name for it.

    As Vagrant's own `ssh-config` gives it by default: throwaway machines, no
    host key check. With known_hosts (an existing fleet's), a host seen first
    is added to it and one whose key changed is refused (accept-new); and no
    prompt ever waits for a person (BatchMode), each connect bounded."""
    if known_hosts is None:
        checking = "  UserKnownHostsFile /dev/null\n  StrictHostKeyChecking no\n"
    else:
        checking = f"  StrictHostKeyChecking accept-new\n  UserKnownHostsFile {_quoted(known_hosts)}\n"
    bounded = f"  BatchMode yes\n  ConnectTimeout {connect_timeout_s}\n" if connect_timeout_s else ""
    blocks = []
    for entry in entries:
        blocks.append(
            f"Host {entry.machine}\n"
            f"  HostName {entry.address}\n"
            f"  User {entry.user}\n"
            f"  Port {entry.port}\n"
            f"{checking}"
            "  PasswordAuthentication no\n"
            f"  IdentityFile {_quoted(entry.identity_file)}\n"
            "  IdentitiesOnly yes\n"
            f"{bounded}"
            f"  LogLevel {log_level}\n"
        )
    return "\n".join(blocks)


def multiplexed(config: str, sockets: Path) -> str:
    """The config with every machine's commands riding one master connection per machine (OpenSSH's
    ControlMaster): testinfra's checks and orka's probes then cost a round trip each, not a handshake."""
    sockets.mkdir(mode=0o700, parents=True, exist_ok=True)
    return (
        f"{config.rstrip()}\n\nHost *\n"
        "  ControlMaster auto\n"
        f"  ControlPath {_quoted(str(sockets))}/%C\n"
        "  ControlPersist 60s\n"
    )


def close_masters(sockets: Path) -> None:
    """End every master connection kept in sockets (a cluster going away leaves no ssh behind), and the folder."""
    found = [p for p in sockets.glob("*") if p.is_socket()] if sockets.is_dir() else []

    def close(socket: Path) -> None:
        command = ["ssh", "-o", f"ControlPath={socket}", "-O", "exit", "orka-machine"]
        subprocess.run(command, capture_output=True, timeout=10, check=False)

    if found:
        with ThreadPoolExecutor(max_workers=min(16, len(found))) as pool:
            list(pool.map(close, found))
    shutil.rmtree(sockets, ignore_errors=True)
