{%- from "orka/map.jinja" import orka with context %}
{%- set primary = salt['pillar.get']('orka:primary') %}
# Orchestration step (b), on every secondary: fetch the primary's
# cluster.json. skip_verify: the file has no published hash.
include:
  - orka.config

orka-cluster-json-fetch:
  file.managed:
    - name: {{ orka.conf_dir }}/cluster.json
    - source: http://{{ primary }}:{{ orka.port }}/cluster.json
    - skip_verify: True
    - user: root
    - group: root
    - mode: '0644'
    - require:
      - file: orka-conf-dir
