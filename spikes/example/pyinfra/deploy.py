"""The desired state as a pyinfra deploy: the same as spikes/example/salt/orka and ../ansible/roles/orka.

    pyinfra -y --sudo INVENTORY deploy.py
Data from the inventory: role (primary|secondary), cluster_size, method.
"""

from io import StringIO

from pyinfra import host
from pyinfra.facts.server import LinuxDistribution
from pyinfra.operations import apt, dnf, files, server, systemd

release = host.get_fact(LinuxDistribution)["release_meta"]
redhat = "rhel" in f"{release.get('ID', '')} {release.get('ID_LIKE', '')}" or release.get("ID") == "fedora"
nologin = "/sbin/nologin" if redhat else "/usr/sbin/nologin"
python3 = "/usr/bin/python3"

if redhat:
    dnf.packages(name="tree package", packages=["tree"])
else:
    # The image ships no package lists: update them first, then at most hourly (pyinfra keeps the stamp).
    apt.packages(name="tree package", packages=["tree"], update=True, cache_time=3600)

server.group(name="orka group", group="orka", system=True)
server.user(
    name="orka user", user="orka", group="orka", system=True, home="/opt/orka", shell=nologin, ensure_home=False
)
files.directory(name="home directory", path="/opt/orka", user="orka", group="orka", mode="755")
files.directory(name="config directory", path="/etc/orka", user="root", group="root", mode="755")

node_conf = (
    f"node={host.name}\nrole={host.data.role}\ncluster_size={host.data.cluster_size}\nmethod={host.data.method}\n"
)
files.put(name="node.conf", src=StringIO(node_conf), dest="/etc/orka/node.conf", user="root", group="orka", mode="640")

files.directory(name="www directory", path="/opt/orka/www", user="orka", group="orka", mode="755")
files.put(
    name="index.html",
    src=StringIO(f"<h1>{host.name}</h1>\n"),
    dest="/opt/orka/www/index.html",
    user="orka",
    group="orka",
    mode="644",
)

UNIT = f"""[Unit]
Description=orka agent (serves /opt/orka/www on TCP 8080)
After=network.target

[Service]
User=orka
Group=orka
ExecStart={python3} -m http.server 8080 --bind 0.0.0.0 --directory /opt/orka/www
Restart=on-failure

[Install]
WantedBy=multi-user.target
"""
unit = files.put(
    name="orka-agent unit",
    src=StringIO(UNIT),
    dest="/etc/systemd/system/orka-agent.service",
    user="root",
    group="root",
    mode="644",
)
systemd.daemon_reload(name="reload units", _if=unit.did_change)
systemd.service(name="orka-agent service", service="orka-agent", running=True, enabled=True)
systemd.service(name="restart orka-agent", service="orka-agent", restarted=True, _if=unit.did_change)
