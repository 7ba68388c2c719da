/etc/orka-secret:
  file.directory:
    - user: root
    - group: root
    - mode: "0700"

/etc/orka-secret/shared:
  file.managed:
    - user: {{ pillar['secret_owner'] }}
    - group: root
    - mode: "0600"
    - contents: token={{ pillar['shared_token'] }}
    - require:
      - file: /etc/orka-secret

/etc/orka-secret/own:
  file.managed:
    - user: {{ pillar['secret_owner'] }}
    - group: root
    - mode: "0600"
    - contents: |
        {{ pillar['app']['db_password'] }}
        {{ pillar['gpg']['token'] }}
    - require:
      - file: /etc/orka-secret
