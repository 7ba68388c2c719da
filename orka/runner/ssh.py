"""One SSH session per host per step, through asyncssh, in the runner's own process.

Chosen by measurement (benchmarks/bench_ssh.py, 25 nodes at once, this
machine): a new connection to every node took 1.78 s with OpenSSH, one `ssh`
process per host, and 0.70 s with asyncssh, every handshake in one event loop;
a reused one 0.32 s and 0.27 s. So connections are asyncssh's, opened once per
run and shared by all of its steps.
"""

from __future__ import annotations

import asyncio
import warnings
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path

with warnings.catch_warnings():
    # asyncssh's DSA support warns at import under cryptography 51; a user of orka's commands need not read it.
    warnings.filterwarnings("ignore", message="DSA is deprecated")
    import asyncssh

from orka.runner.inventory import Host

CONNECT_TIMEOUT_S = 10
# Handshakes at once: each is CPU work in this one event loop, and 250 begun together each crawled past
# the connect timeout (benchmarks/bench_methods.py --fleet 250); the rest wait their turn, in order.
HANDSHAKES = 32


@dataclass(frozen=True)
class Target:
    """Where and how to log in to one host."""

    address: str
    port: int
    user: str
    key: str
    known_hosts: str | None  # None: do not check the host key (throwaway test nodes)


def read_ssh_config(path: Path) -> dict[str, dict[str, str]]:
    """The `Host` entries of an OpenSSH config (as `vagrant ssh-config` writes it), keys lower-cased."""
    entries: dict[str, dict[str, str]] = {}
    current: dict[str, str] = {}
    for raw in path.read_text().splitlines():
        parts = raw.strip().split(None, 1)
        if len(parts) != 2 or parts[0].startswith("#"):
            continue
        key, value = parts[0].lower(), parts[1].strip().strip('"')
        if key == "host":
            current = entries.setdefault(value, {})
        else:
            current.setdefault(key, value)
    return entries


def target_of(host: Host, entries: dict[str, dict[str, str]] | None = None) -> Target:
    """Where the host is; entries: its ssh_config already read (else it is read now)."""
    if host.ssh_config:
        entries = read_ssh_config(Path(host.ssh_config)) if entries is None else entries
        entry = entries.get(host.name)
        if entry is None:
            raise ConnectionError(f"no `Host {host.name}` in {host.ssh_config}")
        unchecked = entry.get("stricthostkeychecking") == "no" or entry.get("userknownhostsfile") == "/dev/null"
        return Target(
            entry.get("hostname", host.name),
            int(entry.get("port", 22)),
            entry.get("user", ""),
            entry.get("identityfile", ""),
            # The config's own known_hosts file, as OpenSSH reads it (a static fleet names one).
            None if unchecked else str(Path(entry.get("userknownhostsfile", "~/.ssh/known_hosts")).expanduser()),
        )
    known = None if host.known_hosts == "none" else str(Path(host.known_hosts).expanduser())
    return Target(host.address, host.port, host.user, host.key, known)


class Connections:
    """The run's connections, one per host, opened on first use and closed with the run."""

    def __init__(self) -> None:
        self._open: dict[str, asyncssh.SSHClientConnection] = {}
        self._handshakes = asyncio.Semaphore(HANDSHAKES)
        # Each ssh_config read once per run, not once per host: quadratic, 0.3 s of the event loop at 250 hosts.
        self._configs: dict[str, dict[str, dict[str, str]]] = {}

    def _entries(self, host: Host) -> dict[str, dict[str, str]] | None:
        if not host.ssh_config:
            return None
        if host.ssh_config not in self._configs:
            self._configs[host.ssh_config] = read_ssh_config(Path(host.ssh_config))
        return self._configs[host.ssh_config]

    async def get(self, host: Host, connect_timeout: float = CONNECT_TIMEOUT_S) -> asyncssh.SSHClientConnection:
        """The host's connection; a new one waits for a handshake's turn, then has connect_timeout for it."""
        if host.name not in self._open:
            target = target_of(host, self._entries(host))
            async with self._handshakes:
                self._open[host.name] = await asyncssh.connect(
                    target.address,
                    port=target.port,
                    username=target.user or None,
                    client_keys=[target.key] if target.key else None,
                    known_hosts=target.known_hosts if target.known_hosts is None else [target.known_hosts],
                    connect_timeout=connect_timeout,
                    keepalive_interval=5,
                )
        return self._open[host.name]

    async def drop(self, host: Host) -> None:
        connection = self._open.pop(host.name, None)
        if connection is not None:
            connection.close()

    async def close(self) -> None:
        for connection in self._open.values():
            connection.close()
        await asyncio.gather(*(c.wait_closed() for c in self._open.values()), return_exceptions=True)
        self._open.clear()


# The connections of the run under way (set by the executor around a run).
CONNECTIONS: ContextVar[Connections] = ContextVar("orka_runner_connections")


async def run_over_ssh(host: Host, remote: str, stdin: bytes, timeout: float) -> tuple[int, str, str]:
    """(exit code, stdout, stderr); 124 when the host took longer than timeout, connecting included,
    255 when it could not be reached."""
    connections = CONNECTIONS.get()
    connect_timeout = min(CONNECT_TIMEOUT_S, timeout)
    silence = f"no answer to connecting within {connect_timeout:g} s"
    try:
        # One deadline for connecting and running: a host costs the run at most `timeout`.
        async with asyncio.timeout(timeout):
            connection = await connections.get(host, connect_timeout)
            silence = f"no answer within {timeout:g} s"
            result = await connection.run(remote, input=stdin.decode(), check=False)
    except TimeoutError:
        await connections.drop(host)
        return 124, "", silence
    except (OSError, asyncssh.Error, ConnectionError) as exc:
        await connections.drop(host)
        return 255, "", f"{type(exc).__name__}: {exc}"
    if result.exit_status is None:  # no status: the session was cut (the host went away mid-step), or killed
        await connections.drop(host)
        signal = result.exit_signal[0] if result.exit_signal else ""
        why = f"killed by signal {signal}" if signal else "the connection was lost before the step ended"
        return 255, str(result.stdout or ""), why
    return result.exit_status, str(result.stdout or ""), str(result.stderr or "")
