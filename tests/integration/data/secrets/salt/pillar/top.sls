base:
  '*':
    - app
    - gpg
