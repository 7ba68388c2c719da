from io import StringIO

from pyinfra import host
from pyinfra.operations import files, server

files.directory(name="folder", path="/etc/orka-faults", mode="755")
server.shell(name="slow step", commands=[host.data.slow_step])
files.put(name="state file", src=StringIO("converged\n"), dest="/etc/orka-faults/state", mode="644")
