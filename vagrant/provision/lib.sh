# shellcheck shell=bash
# Sourced by the provisioning scripts: the tools from the wheelhouse, their commands on the PATH, and a
# systemd unit of orka's. The plan's commands set where things are: ORKA_PROVISION, ORKA_UPLOAD,
# ORKA_WHEELHOUSE, ORKA_TOOLS (orka/plan/layout.py).
set -euo pipefail
: "${ORKA_PROVISION:?set by the plan}" "${ORKA_UPLOAD:?}" "${ORKA_WHEELHOUSE:?}" "${ORKA_TOOLS:?}"

install_tools() {
  bash "$ORKA_PROVISION/install-tools.sh" "$ORKA_WHEELHOUSE"
}

# link_tools TOOL...: the tools' commands on the PATH, as a user types them.
link_tools() {
  local tool
  for tool in "$@"; do
    ln -sf "$ORKA_TOOLS/bin/$tool" "/usr/local/bin/$tool"
  done
}

# install_unit NAME DESCRIPTION EXEC_START [SERVICE_LINE...]: orka's unit, enabled and (re)started.
# Its description says orka installed it: an existing host's own units are told apart by that.
install_unit() {
  local name=$1 description=$2 exec_start=$3
  shift 3
  {
    printf '[Unit]\nDescription=%s (installed by orka from its wheelhouse)\nAfter=network.target\n\n' "$description"
    printf '[Service]\nExecStart=%s\n' "$exec_start"
    [ $# -eq 0 ] || printf '%s\n' "$@"
    printf '\n[Install]\nWantedBy=multi-user.target\n'
  } > "/etc/systemd/system/$name.service"
  systemctl daemon-reload
  systemctl enable --quiet "$name"
  systemctl restart "$name"
}
