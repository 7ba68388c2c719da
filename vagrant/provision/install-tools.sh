#!/usr/bin/env bash
# Installs the pinned tools (salt, ansible-core) from the host-built wheelhouse
# into one virtualenv, with no internet: pip sees only the wheelhouse.
# Idempotent: a stamp of the pins skips the work when they are installed.
# The docker provider runs this once into a cached image layer, so its nodes
# find the tools already there; VMs run it at provisioning.
#   usage: install-tools.sh [WHEELHOUSE]
# ORKA_PYTHON (the plan sets it from the platform): the interpreter the venv is
# made with, python3 by default; the wheelhouse was made for its version.
set -euo pipefail
wheelhouse=${1:-/srv/orka/wheelhouse}
python=${ORKA_PYTHON:-python3}
venv=/usr/local/lib/orka-tools
stamp=$venv/.pins

if [ -f "$stamp" ] && cmp -s "$stamp" "$wheelhouse/requirements.txt"; then
  exit 0
fi
start=$SECONDS
if ! command -v "$python" >/dev/null; then
  # The RedHat 9 family's python3 is 3.9, older than the tools take: their
  # Python comes from AppStream, on a VM that reaches its mirror.
  if command -v dnf >/dev/null; then
    dnf install -y -q "$python"
  else
    echo "orka: $python not found, and no dnf to install it with: install it in the box" >&2
    exit 1
  fi
fi
rm -rf "$venv"
"$python" -m venv "$venv"
# Bytecode is compiled here, once: left to the first start, every salt process
# of every fresh node compiles the same modules again (15 s to a master's start).
"$venv/bin/pip" install --quiet --no-index --disable-pip-version-check \
  --find-links "$wheelhouse" -r "$wheelhouse/requirements.txt"
cp "$wheelhouse/requirements.txt" "$stamp"
echo "orka: tools installed from the wheelhouse in $((SECONDS - start)) s: $(grep -v '^#' "$stamp" | xargs)"
