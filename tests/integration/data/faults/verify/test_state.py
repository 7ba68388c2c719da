"""What the faults scenario leaves: the file after the slow step, whole."""

from testinfra.host import Host


def test_the_state_file_is_there(host: Host) -> None:
    state = host.file("/etc/orka-faults/state")
    assert state.is_file
    assert state.mode == 0o644
    assert state.content_string == "converged\n"
