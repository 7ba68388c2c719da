from io import StringIO

from pyinfra import host
from pyinfra.operations import files

files.directory(name="secret directory", path="/etc/orka-secret", user="root", group="root", mode="700")
files.put(
    name="shared secret",
    src=StringIO(f"token={host.data.shared_token}\n"),
    dest="/etc/orka-secret/shared",
    user=host.data.secret_owner,
    group="root",
    mode="600",
)
files.put(
    name="own secret",
    src=StringIO(f"{host.data.api_key}\n"),
    dest="/etc/orka-secret/own",
    user=host.data.secret_owner,
    group="root",
    mode="600",
)
