base:
  '*':
    - secret
