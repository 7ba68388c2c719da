{%- from "orka/map.jinja" import orka with context %}
# 4. /opt/orka/www/index.html and the orka-agent unit serving it on 8080.
include:
  - orka.user

orka-www:
  file.directory:
    - name: {{ orka.www }}
    - user: {{ orka.user }}
    - group: {{ orka.group }}
    - mode: '0755'
    - require:
      - file: orka-home

orka-index:
  file.managed:
    - name: {{ orka.www }}/index.html
    - user: {{ orka.user }}
    - group: {{ orka.group }}
    - mode: '0644'
    - contents: |
        <h1>{{ grains['id'] }}</h1>
    - require:
      - file: orka-www

orka-agent-unit:
  file.managed:
    - name: {{ orka.unit_file }}
    - user: root
    - group: root
    - mode: '0644'
    - contents: |
        [Unit]
        Description=orka agent (serves {{ orka.www }} on TCP {{ orka.port }})
        After=network.target

        [Service]
        User={{ orka.user }}
        Group={{ orka.group }}
        ExecStart={{ orka.python3 }} -m http.server {{ orka.port }} --bind 0.0.0.0 --directory {{ orka.www }}
        Restart=on-failure

        [Install]
        WantedBy=multi-user.target

# daemon-reload: Salt 3008's systemd module runs `systemctl daemon-reload`
# itself before start/restart when systemd reports NeedDaemonReload=yes, so a
# changed unit file (watch -> restart) is reloaded first. Verified in the
# Debian 12 container: journal shows "Reloading." before the restart and the
# new ExecStart takes effect. No separate reload state is needed.
orka-agent-service:
  service.running:
    - name: {{ orka.service }}
    - enable: True
    - watch:
      - file: orka-agent-unit
    - require:
      - file: orka-index
      - user: orka-user
