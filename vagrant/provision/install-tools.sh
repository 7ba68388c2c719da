#!/usr/bin/env bash
# Installs the pinned tools (salt, ansible-core) from the host-built wheelhouse
# into one virtualenv, with no internet: pip sees only the wheelhouse.
# Idempotent: a stamp of the pins skips the work when they are installed.
# The docker provider runs this once into a cached image layer, so its nodes
# find the tools already there; VMs run it at provisioning.
#   usage: install-tools.sh [WHEELHOUSE]
set -euo pipefail
wheelhouse=${1:-/srv/orka/wheelhouse}
venv=/usr/local/lib/orka-tools
stamp=$venv/.pins

if [ -f "$stamp" ] && cmp -s "$stamp" "$wheelhouse/requirements.txt"; then
  exit 0
fi
start=$SECONDS
rm -rf "$venv"
python3 -m venv "$venv"
# Bytecode is compiled here, once: left to the first start, every salt process
# of every fresh node compiles the same modules again (15 s to a master's start).
"$venv/bin/pip" install --quiet --no-index --disable-pip-version-check \
  --find-links "$wheelhouse" -r "$wheelhouse/requirements.txt"
cp "$wheelhouse/requirements.txt" "$stamp"
echo "orka: tools installed from the wheelhouse in $((SECONDS - start)) s: $(grep -v '^#' "$stamp" | xargs)"
