"""hostomatic scheduler: records a run in Postgres every SCHEDULE_SECONDS."""

import os
import signal
import threading

import psycopg2

STOP = threading.Event()


def secret(name):
    with open(os.path.join("/run/secrets", name)) as handle:
        return handle.read().strip()


def main():
    signal.signal(signal.SIGTERM, lambda *_: STOP.set())
    every = float(os.environ.get("SCHEDULE_SECONDS", "30"))
    while not STOP.is_set():
        try:
            conn = psycopg2.connect(host=os.environ["DB_HOST"], port=os.environ["DB_PORT"], dbname=os.environ["DB_NAME"],
                                    user=os.environ["DB_USER"], password=secret("db_password"), connect_timeout=3)
            with conn, conn.cursor() as cur:
                # services start together: serialise the schema changes (CREATE ... IF NOT EXISTS races otherwise)
                cur.execute("SELECT pg_advisory_xact_lock(7341)")
                cur.execute("CREATE TABLE IF NOT EXISTS scheduler_runs (id serial PRIMARY KEY, "
                            "ran_at timestamptz NOT NULL DEFAULT now(), service text)")
                cur.execute("INSERT INTO scheduler_runs (service) VALUES (%s)", (os.environ.get("SERVICE_NAME"),))
            conn.close()
        except psycopg2.OperationalError as exc:
            print("scheduler: Postgres not reachable yet: %s" % exc, flush=True)
        STOP.wait(every)


if __name__ == "__main__":
    main()
