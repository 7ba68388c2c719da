"""nginx serving the node's name on port 80, and on web_proxy_port (scenario.yaml's vars, inventory data)
forwarding to the primary (the inventory's `primary`), as a pyinfra deploy.

    pyinfra -y --sudo INVENTORY deploy.py
"""

from io import StringIO

from pyinfra import host
from pyinfra.facts.server import LinuxDistribution
from pyinfra.operations import apt, dnf, files, systemd

release = host.get_fact(LinuxDistribution)["release_meta"]
redhat = "rhel" in f"{release.get('ID', '')} {release.get('ID_LIKE', '')}" or release.get("ID") == "fedora"

if redhat:
    dnf.packages(name="nginx package", packages=["nginx"])
else:
    apt.packages(name="nginx package", packages=["nginx"], update=True, cache_time=3600)

files.put(
    name="node page",
    src=StringIO(f"{host.name}\n"),
    dest="/usr/share/nginx/html/index.html" if redhat else "/var/www/html/index.html",
    user="root",
    group="root",
    mode="644",
)

PROXY = f"""server {{
  listen {host.data.web_proxy_port};
  location / {{ proxy_pass http://{host.data.primary}:80/; }}
}}
"""
proxy = files.put(
    name="proxy to the primary",
    src=StringIO(PROXY),
    dest="/etc/nginx/conf.d/orka-web.conf",
    user="root",
    group="root",
    mode="644",
)
systemd.service(name="nginx service", service="nginx", running=True, enabled=True)
systemd.service(name="reload nginx", service="nginx", reloaded=True, _if=proxy.did_change)
