"""Ansible, agentless over SSH from its control node, ansible-master."""

from orka.methods.descriptor import Descriptor, Master

DESCRIPTOR = Descriptor(
    name="ansible",
    summary="the Ansible method",
    order=20,
    color="#e07b39",
    method_class="orka.methods.ansible.method:AnsibleMethod",
    masters=(Master("ansible-master", "ansible-master", 11),),
    effort_patterns=("*.yml", "*.j2", "*.cfg"),
    preflight="orka.methods.ansible.files:preflight",
)
