"""A GPG-encrypted pillar value (Salt's gpg renderer, `#!yaml|gpg`): the key the master decrypts it with.

The key comes from this machine's environment, never from settings: ORKA_SALT_GPG_KEY_FILE names a file
holding the secret key, armored (`gpg --export-secret-keys --armor KEY`), without a passphrase (Salt's
renderer takes none). The master gets it root-only, imported into /etc/salt/gpgkeys, where the renderer
looks; the values it decrypts are secrets like any pillar key named in scenario.yaml's `secrets.salt`.
"""

from __future__ import annotations

import os
from pathlib import Path

from orka.methods.salt.states import PILLAR

KEY_FILE_ENV = "ORKA_SALT_GPG_KEY_FILE"
UPLOAD_NAME = "salt/gpg/secret.asc"  # in the master's upload; salt-master.sh imports it
CIPHERTEXT = "-----BEGIN PGP MESSAGE-----"


def encrypted_pillar(tree: Path) -> list[str]:
    """The scenario's pillar files holding a GPG-encrypted value (relative to its salt/ folder)."""
    folder = tree / PILLAR
    found = []
    for path in sorted(folder.rglob("*.sls")) if folder.is_dir() else []:
        try:
            if CIPHERTEXT in path.read_text(encoding="utf-8"):
                found.append(str(path.relative_to(tree)))
        except (OSError, UnicodeDecodeError):
            continue  # the tree's preflight names it
    return found


def key_file() -> Path | None:
    given = os.environ.get(KEY_FILE_ENV)
    return Path(given).expanduser() if given else None


def key_problem(tree: Path) -> str | None:
    """Why the pillar's encrypted values cannot be decrypted on the master (no key given, none there), or None."""
    encrypted = encrypted_pillar(tree)
    if not encrypted:
        return None
    how = f"give the path of its secret key, armored and without a passphrase, in {KEY_FILE_ENV} (never in settings)"
    key = key_file()
    if key is None:
        return f"{encrypted[0]}: holds a GPG-encrypted value; {how}"
    try:
        text = key.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return f"{encrypted[0]}: {KEY_FILE_ENV} names {key}, which cannot be read ({exc}); {how}"
    if "-----BEGIN PGP PRIVATE KEY BLOCK-----" not in text:
        return f"{encrypted[0]}: {KEY_FILE_ENV} names {key}, which holds no armored secret key; {how}"
    return None
