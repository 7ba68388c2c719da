{%- from "orka/map.jinja" import orka with context %}
{%- set node = grains['id'] %}
{%- set role = 'primary' if node == salt['pillar.get']('orka:primary') else 'secondary' %}
# 3. /etc/orka/node.conf (root:orka 0640) in /etc/orka (root:root 0755).
include:
  - orka.user

orka-conf-dir:
  file.directory:
    - name: {{ orka.conf_dir }}
    - user: root
    - group: root
    - mode: '0755'

orka-node-conf:
  file.managed:
    - name: {{ orka.conf_dir }}/node.conf
    - user: root
    - group: {{ orka.group }}
    - mode: '0640'
    - contents: |
        node={{ node }}
        role={{ role }}
        cluster_size={{ salt['pillar.get']('orka:cluster_size') }}
        method={{ salt['pillar.get']('orka:method') }}
    - require:
      - file: orka-conf-dir
      - group: orka-group
