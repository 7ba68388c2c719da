#!/usr/bin/env bash
# The Salt master on orka-master: tools from the wheelhouse, the keys orka
# made on the host (master pair, every minion's public key), the pillar.
# auto_accept stays off: only minions whose keys orka seeded get in.
#   usage: salt-master.sh PILLAR_JSON
set -euo pipefail
pillar=$1
upload=/tmp/orka-upload/salt

bash /srv/orka/src/vagrant/provision/install-tools.sh
for tool in salt salt-master salt-key salt-run salt-call; do
  ln -sf "/usr/local/lib/orka-tools/bin/$tool" "/usr/local/bin/$tool"
done

install -d -m 0700 /etc/salt/pki/master /etc/salt/pki/master/minions
install -m 0400 "$upload/master.pem" /etc/salt/pki/master/master.pem
install -m 0644 "$upload/master.pub" /etc/salt/pki/master/master.pub
rm -f /etc/salt/pki/master/minions/*
for key in "$upload"/minions/*.pub; do
  install -m 0644 "$key" "/etc/salt/pki/master/minions/$(basename "$key" .pub)"
done
rm -rf /tmp/orka-upload

install -d /etc/salt/master.d /srv/pillar
cat > /etc/salt/master.d/orka.conf <<'CONF'
interface: 0.0.0.0
auto_accept: False
open_mode: False
file_roots:
  base: [/srv/salt]
pillar_roots:
  base: [/srv/pillar]
CONF
printf "base:\n  '*':\n    - orka\n" > /srv/pillar/top.sls
echo "orka: $pillar" > /srv/pillar/orka.sls

cat > /etc/systemd/system/salt-master.service <<'UNIT'
[Unit]
Description=Salt master (installed by orka from its wheelhouse)
After=network.target

[Service]
ExecStart=/usr/local/bin/salt-master
LimitNOFILE=100000
Restart=on-failure

[Install]
WantedBy=multi-user.target
UNIT
systemctl daemon-reload
systemctl enable --quiet salt-master
systemctl restart salt-master
echo "orka: salt-master started with $(ls /etc/salt/pki/master/minions | wc -l) pre-seeded minion keys"
