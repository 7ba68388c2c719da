# Example of the pillar orka provides (for humans; orka writes the real one
# from its settings, on the master and, masterless, on each node).
# /srv/pillar/top.sls:
#   base:
#     '*':
#       - orka
# /srv/pillar/orka.sls:
orka:
  method: salt
  cluster_size: 3
  primary: orka-node-1
  nodes: [orka-node-1, orka-node-2, orka-node-3]
