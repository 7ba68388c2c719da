"""`orka init`'s Salt tree: formatted with the scenario's name, sls (its name as a Salt/Python word) and var."""

FILES = {
    "top.sls": """\
base:
  '*':
    - {sls}
""",
    "{sls}/init.sls": """\
{name}-conf:
  file.managed:
    - name: /srv/{name}/{name}.conf
    - makedirs: True
    - mode: '0644'
    - contents: |
        node={{{{ grains['id'] }}}}
        {{{{ salt['pillar.get']('{var}') }}}}
""",
}
