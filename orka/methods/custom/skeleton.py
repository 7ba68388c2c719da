"""`orka init`'s task file: formatted with the scenario's name, sls (its name as a Salt/Python word) and var."""

FILES = {
    "desired_state.yml": """\
tasks:
  - name: folder
    directory: {{path: /srv/{name}, owner: root, group: root, mode: "0755"}}

  - name: conf
    file:
      path: /srv/{name}/{name}.conf
      owner: root
      group: root
      mode: "0644"
      content: |
        node=$host
        ${var}
""",
}
