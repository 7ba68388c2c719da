{#- Run on the master: salt-run state.orchestrate orch.secondary
    Targets come from the master's pillar (same `orka` data as the minions). -#}
{%- set primary = salt['pillar.get']('orka:primary') %}
{%- set secondaries = salt['pillar.get']('orka:nodes', []) | reject('equalto', primary) | list %}
# a) the primary publishes cluster.json; failhard stops the run on failure.
orka-primary:
  salt.state:
    - tgt: {{ primary }}
    - sls: orka.primary
    - failhard: True

{%- if secondaries %}

# b) only after (a) succeeded, every secondary fetches it.
orka-secondaries:
  salt.state:
    - tgt: {{ secondaries | join(',') }}
    - tgt_type: list
    - sls: orka.secondary
    - require:
      - salt: orka-primary
{%- endif %}
