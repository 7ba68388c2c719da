#!yaml|gpg
# Encrypted to keys/salt-gpg-secret-key.asc, a key made for this test alone (ORKA_SALT_GPG_KEY_FILE).
gpg:
  token: |
    -----BEGIN PGP MESSAGE-----

    hQGMAz9s5oWdEWeVAQv/V606bUQNOrgdv2D3urYzoy1JY82dqRXe+6XImkYzuhyx
    RS4izN+JPY4+eTPLQiNdpW/88xnsDS1pfHOfQhYNa5mVft3wTugxMkj+A/Hmg7rl
    a4P1HMKd4fDD5NFGpBOXtS09mz/jqUE/sFAlZj0RLYL8libPIm6fd5T0PUW0ezpD
    7xBhw8O6yd7W7AvyjDrTnXIlD2UKIVAfG7/c1gMSkeyFEXTG73BEmDvtoOAPJ+6B
    eaQhWo4HfAf/UNnUPFih2OTBE+uJBzYzD3uj5Oakn02KDvceBZo8K4bPVayIPOg0
    EPpnl3lBmPrJ84HhCWeMsoTv/1geh4DHKuco55oYtE+kn6+dJ0ANUSDmm+Pa+lny
    Sj5/iZRLzY57/b85Uee8jOpU0CVn/E8LxVDi7Fy6nSLOJWmafMJ3jfy1GRTUUToZ
    zvVT29r65dYCu5zX6oZC4HNsf4jNYMOLxsD8XFEAivWY/mvUAfkBLqgm+gM0A495
    /ps/6UmzJFqaDCy4yhYz0k4Bh3sePXoPBP94MJA48UxaZOihAoXVpWPya5ygo2JT
    5mzxiXA/6lguVytBI2MSUxIiSV0asWrfyp/Ku7SHw0DUkqglwEtXGyXAhowwCR0=
    =gbuD
    -----END PGP MESSAGE-----
