# Succeeds on every node but orka-node-2, where the command exits 3 until /var/tmp/orka-fixed exists.
applied_by_salt:
  file.managed:
    - name: /var/tmp/orka-applied-by-salt
    - contents: "applied by salt on {{ grains['id'] }}"

exits_3_on_orka_node_2:
  cmd.run:
{%- if grains['id'] == 'orka-node-2' %}
    - name: test -e /var/tmp/orka-fixed || exit 3
{%- else %}
    - name: "true"
{%- endif %}
    - require:
      - file: applied_by_salt
