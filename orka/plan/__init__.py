"""The cluster plan (spec.json): its machines, their names and addresses, and what each machine is given
and runs at provisioning, written once here. Vagrant's Vagrantfile and the static fleet execute it."""
