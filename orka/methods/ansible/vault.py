"""ansible-vault in a scenario: what is encrypted, and the password the control node decrypts it with.

The password comes from this machine's environment, never from settings:
ORKA_ANSIBLE_VAULT_PASSWORD (the password itself, as a Bamboo secret
variable gives it) or ANSIBLE_VAULT_PASSWORD_FILE (Ansible's own: a file
holding it). The control node gets it root-only, and its ansible.cfg names
it, so orka's runs and the hand commands decrypt alike.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

PASSWORD_ENV = "ORKA_ANSIBLE_VAULT_PASSWORD"
PASSWORD_FILE_ENV = "ANSIBLE_VAULT_PASSWORD_FILE"
UPLOAD_NAME = "vault/password"  # in the control node's upload; ansible-master.sh installs it as VAULT_PASSWORD
HEADER = "$ANSIBLE_VAULT;"
# `name: !vault |` : a value encrypted in place (ansible-vault encrypt_string).
INLINE = re.compile(r"^[ \t]*(?:-[ \t]+)?([A-Za-z_][A-Za-z0-9_]*)[ \t]*:[ \t]*!vault\b", re.MULTILINE)


@dataclass(frozen=True)
class Encrypted:
    """What a scenario's Ansible folder holds encrypted: whole files (relative paths), and variables in place."""

    files: tuple[str, ...] = ()
    variables: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.files or self.variables)

    def first(self) -> str:
        return self.files[0] if self.files else f"variable {self.variables[0]}"


def encrypted_in(config: Path) -> Encrypted:
    """Any file Ansible may decrypt (vars files, and files/ it copies, with or without .yml), and the variables
    encrypted in place in its YAML files."""
    files: list[str] = []
    variables: list[str] = []
    for path in sorted(config.rglob("*")):
        if not path.is_file() or any(part.startswith(".") for part in path.relative_to(config).parts):
            continue
        try:
            with path.open("rb") as opened:
                head = opened.read(len(HEADER))
            text = path.read_text(encoding="utf-8") if path.suffix in (".yml", ".yaml") else ""
        except (OSError, UnicodeDecodeError):
            continue  # the folder's preflight names it
        if head == HEADER.encode():
            files.append(str(path.relative_to(config)))
        else:
            variables += INLINE.findall(text)
    return Encrypted(tuple(files), tuple(dict.fromkeys(variables)))


def password() -> str | None:
    """The vault password from the environment, or None when none is given."""
    given = os.environ.get(PASSWORD_ENV)
    if given:
        return given
    named = os.environ.get(PASSWORD_FILE_ENV)
    if named:
        return Path(named).expanduser().read_text(encoding="utf-8").strip()
    return None


def password_problem(config: Path) -> str | None:
    """Why the folder's vault cannot be opened (no password given, an unreadable file), or None."""
    found = encrypted_in(config)
    if not found:
        return None
    how = (
        f"give its password in {PASSWORD_ENV}, or the path of a file holding it in {PASSWORD_FILE_ENV} "
        "(never in settings)"
    )
    try:
        given = password()
    except (OSError, UnicodeDecodeError) as exc:
        return f"{found.first()}: is encrypted with ansible-vault and {PASSWORD_FILE_ENV} cannot be read ({exc}); {how}"
    if not given:
        return f"{found.first()}: is encrypted with ansible-vault; {how}"
    return None
