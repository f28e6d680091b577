"""pcloud: a personal cloud on a few DigitalOcean droplets."""

__version__ = "0.1.0"
