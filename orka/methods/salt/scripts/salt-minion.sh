#!/usr/bin/env bash
# A Salt minion on a node: tools from the wheelhouse, its own key pair made by orka on the host, and
# the master's public key, so it trusts that master only.
#   usage: salt-minion.sh MINION_ID MASTER
# shellcheck source=vagrant/provision/lib.sh
. "$ORKA_PROVISION/lib.sh"
id=$1
master=$2
upload=$ORKA_UPLOAD/salt

install_tools
link_tools salt-minion salt-call

install -d -m 0700 /etc/salt/pki/minion
install -m 0400 "$upload/minion.pem" /etc/salt/pki/minion/minion.pem
install -m 0644 "$upload/minion.pub" /etc/salt/pki/minion/minion.pub
install -m 0644 "$upload/master.pub" /etc/salt/pki/minion/minion_master.pub
rm -rf "$ORKA_UPLOAD"

install -d /etc/salt/minion.d
# Retry the master every second instead of Salt's default ten, so a minion
# that starts before its master answers within a second of the master.
cat > /etc/salt/minion.d/orka.conf <<CONF
id: $id
master: $master
acceptance_wait_time: 1
acceptance_wait_time_max: 2
random_reauth_delay: 0
recon_default: 100
recon_max: 1000
recon_randomize: False
# The fqdns grain resolves every address of the host: seconds where DNS is slow
# (a fleet on Docker's embedded DNS took 2.3 s per lookup), on every grains refresh.
enable_fqdns_grains: False
master_tries: -1
CONF

install_unit salt-minion "Salt minion" /usr/local/bin/salt-minion KillMode=process Restart=on-failure
echo "orka: salt-minion $id started, master $master"
