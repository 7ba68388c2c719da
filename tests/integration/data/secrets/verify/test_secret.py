"""The secrets reached every node, each root-only: checked there, never printed (orka redacts a failure's text)."""

from __future__ import annotations

from testinfra.host import Host

SHARED = "orka-shared-5d1c9a7e3b"
OWN = {
    "salt": "salt-pillar-9f2e7c4a61\nsalt-gpg-6a1f0c9e27",  # a plain pillar value and a GPG-encrypted one
    "ansible": "ansible-vault-4b8d2f6e90\nansible-nolog-1d4e7b2c93",  # a vault's value, a no_log task's var
    "custom": "custom-runner-8e2b6d0f47",
    "pyinfra": "pyinfra-data-3c7a1e9f52",
}


def test_the_shared_secret_reached_the_node(host: Host) -> None:
    with host.sudo():  # root-only, as a secret's file is
        shared = host.file("/etc/orka-secret/shared")
        assert (shared.user, shared.mode) == ("root", 0o600)
        assert shared.content_string == f"token={SHARED}\n"


def test_the_tools_own_secret_reached_the_node(host: Host, method: str) -> None:
    with host.sudo():
        own = host.file("/etc/orka-secret/own")
        assert (own.user, own.mode) == ("root", 0o600)
        assert own.content_string.strip() == OWN[method]
