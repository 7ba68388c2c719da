/etc/orka-faults:
  file.directory:
    - mode: "0755"

slow step:
  cmd.run:
    - name: {{ pillar['slow_step'] }}
    - require:
      - file: /etc/orka-faults

/etc/orka-faults/state:
  file.managed:
    - contents: converged
    - mode: "0644"
    - require:
      - cmd: slow step
