# A desired state that fails on orka-node-2 only (tests/integration/test_failing_apply.py).
base:
  'orka-node-*':
    - failing
