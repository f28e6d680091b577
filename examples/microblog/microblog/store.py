"""Connections from the environment: DATABASE_URL and REDIS_URL, nothing else."""

import os
import time

import psycopg2
import redis

QUEUE = "microblog:deliveries"


def database():
    url = os.environ["DATABASE_URL"]
    for _ in range(60):
        try:
            return psycopg2.connect(url, connect_timeout=3)
        except psycopg2.OperationalError:
            time.sleep(1)
    raise SystemExit("microblog: cannot reach the database")


def queue():
    return redis.Redis.from_url(os.environ["REDIS_URL"], socket_timeout=10)
