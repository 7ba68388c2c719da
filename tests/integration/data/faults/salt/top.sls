base:
  '*':
    - faults
