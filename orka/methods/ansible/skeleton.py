"""`orka init`'s playbook: formatted with the scenario's name, sls (its name as a Salt/Python word) and var."""

FILES = {
    "playbook.yml": """\
---
- name: {name} | desired state
  hosts: nodes
  become: true
  gather_facts: false
  tasks:
    - name: {name} | folder
      ansible.builtin.file:
        path: /srv/{name}
        state: directory
        mode: "0755"

    - name: {name} | conf
      ansible.builtin.copy:
        dest: /srv/{name}/{name}.conf
        mode: "0644"
        content: |
          node={{{{ inventory_hostname }}}}
          {{{{ {var} }}}}
""",
}
