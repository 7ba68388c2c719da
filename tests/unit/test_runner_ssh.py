"""Unit tests of orka.runner.ssh's bound: one host costs a run at most its timeout, connecting included.

The real asyncssh client against loopback listeners: one that accepts and never
says a word (a hung sshd, or a node stopped behind a live address), one that
refuses. Nothing leaves this machine.
"""

from __future__ import annotations

import asyncio
import socket
import time
from pathlib import Path

import pytest

from orka.runner import ssh
from orka.runner.inventory import Host
from orka.runner.ssh import CONNECTIONS, Connections, read_ssh_config, run_over_ssh, target_of


def listener() -> socket.socket:
    """A TCP socket on loopback that accepts connections into its backlog and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    return server


def over_ssh(port: int, timeout: float) -> tuple[tuple[int, str, str], float]:
    """run_over_ssh to 127.0.0.1:port as the executor runs it; (its answer, seconds it took)."""
    host = Host("web-1", address="127.0.0.1", port=port, user="deploy", known_hosts="none")

    async def run() -> tuple[int, str, str]:
        connections = Connections()
        CONNECTIONS.set(connections)
        try:
            return await run_over_ssh(host, "true", b"", timeout)
        finally:
            await connections.close()

    start = time.monotonic()
    answer = asyncio.run(run())
    return answer, time.monotonic() - start


def test_a_host_that_never_answers_is_given_up_on_within_the_timeout() -> None:
    with listener() as server:
        (code, out, err), took = over_ssh(server.getsockname()[1], timeout=0.5)

    assert (code, out, err) == (124, "", "no answer to connecting within 0.5 s")
    assert took < 3, f"took {took:.1f} s for a timeout of 0.5 s"


def test_a_host_that_refuses_is_unreachable_at_once() -> None:
    with listener() as server:
        port = server.getsockname()[1]
    # Closed now: nothing listens on the port.
    (code, out, err), took = over_ssh(port, timeout=5)

    assert (code, out) == (255, "")
    assert "refused" in err.lower(), err
    assert took < 3


def test_a_runs_ssh_config_is_read_once_for_all_its_hosts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "ssh_config"
    config.write_text("".join(f"Host web-{i}\n  HostName 10.0.0.{i}\n  User deploy\n" for i in (1, 2, 3)))
    reads: list[Path] = []

    def counted(path: Path) -> dict[str, dict[str, str]]:
        reads.append(path)
        return read_ssh_config(path)

    monkeypatch.setattr(ssh, "read_ssh_config", counted)
    connections = Connections()
    hosts = [Host(f"web-{i}", ssh_config=str(config)) for i in (1, 2, 3)]

    targets = [target_of(host, connections._entries(host)) for host in hosts]

    assert [t.address for t in targets] == ["10.0.0.1", "10.0.0.2", "10.0.0.3"]
    assert reads == [config]
