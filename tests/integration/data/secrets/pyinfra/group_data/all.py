api_key = "pyinfra-data-3c7a1e9f52"
