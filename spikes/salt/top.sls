base:
  'orka-node-*':
    - orka
