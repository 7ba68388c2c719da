"""The ordered step, as Salt's orch.secondary: the primary publishes cluster.json, then every secondary fetches it.

    pyinfra -y --sudo INVENTORY orchestrate.py
pyinfra runs one operation on every host before the next begins, so the fetch starts only after the publish
ended; orka runs it with --fail-percent 0, so a failed publish stops the run and no secondary fetches a missing
or stale file.
Data from the inventory: role, primary, nodes_json (the node names as a JSON list).
"""

import json
from io import StringIO

from pyinfra import host
from pyinfra.operations import files

if host.data.role == "primary":
    cluster = {"nodes": json.loads(host.data.nodes_json), "primary": host.data.primary}
    files.put(
        name="publish cluster.json on the primary",
        src=StringIO(json.dumps(cluster, sort_keys=True) + "\n"),
        dest="/opt/orka/www/cluster.json",
        user="orka",
        group="orka",
        mode="644",
    )
else:
    files.download(
        name="fetch cluster.json on the secondaries",
        src=f"http://{host.data.primary}:8080/cluster.json",
        dest="/etc/orka/cluster.json",
        user="root",
        group="root",
        mode="644",
    )
