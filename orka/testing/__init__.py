"""What orka's own tests put on a cluster and look for: faults, network delay, leaked key material."""
