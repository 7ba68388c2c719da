#!/usr/bin/env bash
# Installs the Debian packages a setup script found missing, in one apt-get run
# (which needs root); with none named, does nothing.
#   usage: scripts/install-packages.sh WHAT [PACKAGE...]   (WHAT: "system packages", ...)
set -euo pipefail
what=$1
shift
[ $# -gt 0 ] || exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "orka: missing $what: $*" >&2
  echo "orka: run this as root (sudo make ...) or: sudo apt-get install $*" >&2
  exit 1
fi
echo "[orka] installing $what: $*"
start=$SECONDS
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "$@" >/dev/null
echo "[orka] $what installed in $((SECONDS - start)) s"
