{%- from "orka/map.jinja" import orka with context %}
{%- set cluster = {
      'nodes': salt['pillar.get']('orka:nodes', []),
      'primary': salt['pillar.get']('orka:primary'),
    } %}
# Orchestration step (a), on the primary: publish the cluster membership
# where orka-agent serves it (http://<primary>:8080/cluster.json).
# `| json` is Salt's serializer filter: sort_keys=True, one line.
include:
  - orka.agent

orka-cluster-json:
  file.managed:
    - name: {{ orka.www }}/cluster.json
    - user: {{ orka.user }}
    - group: {{ orka.group }}
    - mode: '0644'
    - contents: |
        {{ cluster | json }}
    - require:
      - file: orka-www
