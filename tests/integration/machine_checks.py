"""What every machine orka brings up must be, whatever the provider: test_cluster.py checks it of docker
containers, test_libvirt.py of VMs."""

from __future__ import annotations

from testinfra.host import Host

from orka.plan.spec import MachineSpec


def assert_systemd_is_pid_1_and_running(host: Host) -> None:
    assert host.check_output("cat /proc/1/comm") == "systemd"
    assert host.run("systemctl is-system-running").stdout.strip() == "running"


def assert_sshd_listens_with_keys_only(host: Host) -> None:
    assert host.service("ssh").is_running
    assert host.socket("tcp://0.0.0.0:22").is_listening
    effective = host.check_output("sudo sshd -T")
    assert "passwordauthentication no" in effective
    assert "authenticationmethods publickey" in effective


def assert_reaches_every_other_machine_by_name(host: Host, machine: str, machines: tuple[MachineSpec, ...]) -> None:
    for other in machines:
        if other.name == machine:
            continue
        resolved = host.check_output(f"getent hosts {other.name}").split()[0]
        assert resolved == other.ip, f"{machine} resolves {other.name} to {resolved}, planned {other.ip}"
        banner = host.run(f"timeout 5 bash -c 'exec 3<>/dev/tcp/{other.name}/22; head -c 7 <&3'")
        assert banner.stdout == "SSH-2.0", f"{machine} cannot reach sshd on {other.name}: {banner.stderr}"
