#!/usr/bin/env bash
# The Salt master: tools from the wheelhouse, the keys orka made on the host (master pair, every
# minion's public key), the pillar: orka's (`orka:`), the scenario's vars, and the scenario's own pillar
# (its salt/pillar/, served as a second root; orka's top.sls, given merged with the scenario's, comes first).
# auto_accept stays off: only minions whose keys orka seeded get in.
#   usage: salt-master.sh PILLAR_JSON VARS_JSON TOP_JSON
# shellcheck source=vagrant/provision/lib.sh
. "$ORKA_PROVISION/lib.sh"
pillar=$1
vars=$2
top=$3
upload=$ORKA_UPLOAD/salt

install_tools
link_tools salt salt-master salt-key salt-run salt-call

install -d -m 0700 /etc/salt/pki/master /etc/salt/pki/master/minions
install -m 0400 "$upload/master.pem" /etc/salt/pki/master/master.pem
install -m 0644 "$upload/master.pub" /etc/salt/pki/master/master.pub
rm -f /etc/salt/pki/master/minions/*
for key in "$upload"/minions/*.pub; do
  install -m 0644 "$key" "/etc/salt/pki/master/minions/$(basename "$key" .pub)"
done
rm -rf /etc/salt/gpgkeys
if [ -f "$upload/gpg/secret.asc" ]; then
  # The scenario's GPG key, where Salt's gpg renderer decrypts the pillar (its gpg_keydir).
  install -d -m 0700 /etc/salt/gpgkeys
  gpg --homedir /etc/salt/gpgkeys --batch --quiet --import "$upload/gpg/secret.asc"
fi
rm -rf "$ORKA_UPLOAD"

install -d /etc/salt/master.d /srv/pillar
cat > /etc/salt/master.d/orka.conf <<'CONF'
interface: 0.0.0.0
auto_accept: False
open_mode: False
file_roots:
  base: [/srv/salt]
pillar_roots:
  base: [/srv/pillar, /srv/salt/pillar]
CONF
printf '%s\n' "$top" > /srv/pillar/top.sls
echo "orka: $pillar" > /srv/pillar/orka.sls
printf '%s\n' "$vars" > /srv/pillar/orka_vars.sls

install_unit salt-master "Salt master" /usr/local/bin/salt-master LimitNOFILE=100000 Restart=on-failure
echo "orka: salt-master started with $(find /etc/salt/pki/master/minions -type f | wc -l) pre-seeded minion keys"
