# orka: the desired state of every orka node.
include:
  - orka.package
  - orka.user
  - orka.config
  - orka.agent
