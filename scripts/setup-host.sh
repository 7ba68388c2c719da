#!/usr/bin/env bash
# Makes this machine ready for orka: the system packages it needs (installed
# only when missing, which needs root) and a running Docker engine.
# Idempotent: a second run checks and does nothing.
set -euo pipefail

need=()
command -v dockerd >/dev/null || need+=(docker.io)
command -v vagrant >/dev/null || need+=(vagrant)
command -v debootstrap >/dev/null || need+=(debootstrap)
command -v ssh >/dev/null || need+=(openssh-client)
command -v rsync >/dev/null || need+=(rsync)
command -v tc >/dev/null || need+=(iproute2)  # network latency inside the nodes (fault tests)
command -v iptables >/dev/null || need+=(iptables)  # the latency fallback where the kernel has no netem
command -v chromium >/dev/null || need+=(chromium)  # the comparison report's browser test
command -v shellcheck >/dev/null || need+=(shellcheck)  # make lint: the provisioning scripts
python3 -c 'import ensurepip' 2>/dev/null || need+=(python3-venv)

"$(dirname "$0")/install-packages.sh" "system packages" "${need[@]}"

# Every node runs systemd, which takes inotify instances; the kernel's default of
# 128 per user stops the 24th node container from booting.
if [ "$(cat /proc/sys/fs/inotify/max_user_instances 2>/dev/null || echo 8192)" -lt 8192 ]; then
  if [ "$(id -u)" -eq 0 ]; then
    sysctl -q -w fs.inotify.max_user_instances=8192 fs.inotify.max_user_watches=524288
    echo "[orka] raised fs.inotify.max_user_instances to 8192 (systemd in many node containers)"
  else
    echo "orka: note: fs.inotify.max_user_instances is low; clusters over ~20 nodes need: sudo sysctl -w fs.inotify.max_user_instances=8192" >&2
  fi
fi

if ! docker info >/dev/null 2>&1; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "orka: the Docker engine is not running: sudo systemctl start docker (or sudo dockerd &)" >&2
    exit 1
  fi
  echo "[orka] starting the Docker engine"
  if [ -d /run/systemd/system ]; then
    systemctl start docker
  else
    # No systemd on this host (a container, a build agent): run dockerd ourselves.
    nohup dockerd >/var/log/orka-dockerd.log 2>&1 &
  fi
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && break
    sleep 0.5
  done
  docker info >/dev/null 2>&1 || { echo "orka: dockerd did not start; see /var/log/orka-dockerd.log" >&2; exit 1; }
fi
