"""The pool's one judgement of its own: did a failed `vagrant up` fail on another cluster's race?

data/vagrant/up_raced.log is the end of a real `vagrant up` of 10 nodes that
failed while other clusters were torn down on the same docker engine: a
container and a network that Vagrant's docker provider was inspecting
vanished under it.
"""

from __future__ import annotations

from pathlib import Path

from orka.pool import docker_raced

RACED = (Path(__file__).parent / "data" / "vagrant" / "up_raced.log").read_bytes()
# A `vagrant up` that failed for a reason of its own: bringing it up again would fail again.
OWN_FAILURE = b""" 41.0 s  ==> orka-node-1: Running provisioner: orka (shell)...
 41.9 s      orka-node-1: /srv/orka/src/vagrant/provision/common.sh: line 12: salt-minion: command not found
 42.0 s  The SSH command responded with a non-zero exit status. Vagrant
"""


def test_a_vanished_network_or_container_is_a_race(tmp_path: Path) -> None:
    log = tmp_path / "up.log"
    log.write_bytes(RACED)
    assert docker_raced(log, 0)
    for line in RACED.splitlines(keepends=True):
        if b"not found" in line or b"No such object" in line:
            alone = tmp_path / "one.log"
            alone.write_bytes(line)
            assert docker_raced(alone, 0), line


def test_a_failure_of_the_cluster_itself_is_not(tmp_path: Path) -> None:
    log = tmp_path / "up.log"
    log.write_bytes(OWN_FAILURE)
    assert not docker_raced(log, 0)


def test_only_the_attempt_that_failed_is_read(tmp_path: Path) -> None:
    """The log keeps every attempt: a race of an earlier attempt says nothing of this one."""
    log = tmp_path / "up.log"
    log.write_bytes(RACED + OWN_FAILURE)
    assert not docker_raced(log, len(RACED))


def test_no_log_is_no_race(tmp_path: Path) -> None:
    assert not docker_raced(tmp_path / "missing.log", 0)
