"""The local cloud: a DigitalOcean-API-compatible server whose droplets are Docker containers."""
