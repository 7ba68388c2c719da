"""`orka init`'s deploy: formatted with the scenario's name, sls (its name as a Salt/Python word) and var."""

FILES = {
    "deploy.py": """\
\"\"\"{name} for pyinfra (orka runs it with --sudo); host data: the inventory's and scenario.yaml's vars.\"\"\"

from io import StringIO

from pyinfra import host
from pyinfra.operations import files

files.directory(name="folder", path="/srv/{name}", user="root", group="root", mode="755")
files.put(
    name="conf",
    src=StringIO(f"node={{host.name}}\\n{{host.data.{var}}}\\n"),
    dest="/srv/{name}/{name}.conf",
    user="root",
    group="root",
    mode="644",
)
""",
}
