app:
  db_password: salt-pillar-9f2e7c4a61
