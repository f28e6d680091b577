"""hostomatic worker_email: takes item ids from the Redis queue and records each email as sent."""

import os
import signal
import threading
import time

import psycopg2
import redis

QUEUE = "%s-%s-emails" % (os.environ.get("PROJECT", "hostomatic"), os.environ.get("ENVIRONMENT", "dev"))
STOP = threading.Event()  # set by SIGTERM: finish the job in hand, then leave


def secret(name):
    with open(os.path.join("/run/secrets", name)) as handle:
        return handle.read().strip()


def connect():
    for _ in range(60):
        try:
            return psycopg2.connect(host=os.environ["DB_HOST"], port=os.environ["DB_PORT"], dbname=os.environ["DB_NAME"],
                                    user=os.environ["DB_USER"], password=secret("db_password"), connect_timeout=3)
        except psycopg2.OperationalError:
            time.sleep(1)
    raise SystemExit("worker_email: cannot reach Postgres")


def main():
    signal.signal(signal.SIGTERM, lambda *_: STOP.set())
    password_file = "/run/secrets/redis_password"
    password = secret("redis_password") if os.path.exists(password_file) else None
    queue = redis.Redis(host=os.environ["REDIS_HOST"], port=int(os.environ["REDIS_PORT"]), password=password,
                        socket_timeout=10)
    conn = connect()
    with conn, conn.cursor() as cur:
        # services start together: serialise the schema changes (CREATE ... IF NOT EXISTS races otherwise)
        cur.execute("SELECT pg_advisory_xact_lock(7341)")
        cur.execute("CREATE TABLE IF NOT EXISTS emails (item_id integer PRIMARY KEY, status text NOT NULL, "
                    "processed_by text, processed_at timestamptz)")
    print("worker_email waiting on %s" % QUEUE, flush=True)
    while not STOP.is_set():
        job = queue.brpop(QUEUE, timeout=2)
        if job is None:
            continue
        item_id = int(job[1])
        with conn, conn.cursor() as cur:
            cur.execute("INSERT INTO emails (item_id, status, processed_by, processed_at) VALUES (%s, 'sent', %s, now()) "
                        "ON CONFLICT (item_id) DO UPDATE SET status = 'sent', processed_at = now()",
                        (item_id, os.environ.get("SERVICE_NAME")))
    print("worker_email stopped", flush=True)


if __name__ == "__main__":
    main()
