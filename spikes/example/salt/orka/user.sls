{%- from "orka/map.jinja" import orka with context %}
# 2. system group and user orka, home /opt/orka owned orka:orka 0755.
orka-group:
  group.present:
    - name: {{ orka.group }}
    - system: True

orka-user:
  user.present:
    - name: {{ orka.user }}
    - system: True
    - home: {{ orka.home }}
    - createhome: False
    - gid: {{ orka.group }}
    - shell: {{ orka.nologin }}
    - require:
      - group: orka-group

orka-home:
  file.directory:
    - name: {{ orka.home }}
    - user: {{ orka.user }}
    - group: {{ orka.group }}
    - mode: '0755'
    - require:
      - user: orka-user
