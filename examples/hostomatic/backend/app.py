"""hostomatic backend: a small JSON API over Postgres and Redis (stdlib HTTP server)."""

import json
import os
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import psycopg2
import redis

SECRETS = "/run/secrets"
VERSION = open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "VERSION")).read().strip()
QUEUE = "%s-%s-emails" % (os.environ.get("PROJECT", "hostomatic"), os.environ.get("ENVIRONMENT", "dev"))


def secret(name):
    with open(os.path.join(SECRETS, name)) as handle:
        return handle.read().strip()


def connect():
    for _ in range(60):
        try:
            return psycopg2.connect(host=os.environ["DB_HOST"], port=os.environ["DB_PORT"],
                                    dbname=os.environ["DB_NAME"], user=os.environ["DB_USER"],
                                    password=secret("db_password"), connect_timeout=3)
        except psycopg2.OperationalError:
            time.sleep(1)
    raise SystemExit("backend: cannot reach Postgres at %s:%s" % (os.environ["DB_HOST"], os.environ["DB_PORT"]))


def migrate():
    conn = connect()
    with conn, conn.cursor() as cur:
        # services start together: serialise the schema changes (CREATE ... IF NOT EXISTS races otherwise)
        cur.execute("SELECT pg_advisory_xact_lock(7341)")
        cur.execute("CREATE TABLE IF NOT EXISTS items (id serial PRIMARY KEY, name text NOT NULL, "
                    "created_at timestamptz NOT NULL DEFAULT now())")
        cur.execute("CREATE TABLE IF NOT EXISTS emails (item_id integer PRIMARY KEY, status text NOT NULL, "
                    "processed_by text, processed_at timestamptz)")
    conn.close()


LOCAL = threading.local()


def db():
    if getattr(LOCAL, "conn", None) is None or LOCAL.conn.closed:
        LOCAL.conn = connect()
    return LOCAL.conn


def optional_secret(name):
    path = os.path.join(SECRETS, name)
    return secret(name) if os.path.exists(path) else None


QUEUE_CLIENT = redis.Redis(host=os.environ.get("REDIS_HOST", "127.0.0.1"), port=int(os.environ.get("REDIS_PORT", "6379")),
                           password=optional_secret("redis_password"), socket_timeout=5)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 5  # an idle keep-alive connection ends, so a stopping server is not held open

    def log_message(self, fmt, *args):
        if os.environ.get("LOG_LEVEL") == "debug":
            sys.stderr.write(fmt % args + "\n")

    def reply(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):  # noqa: N802
        if self.path == "/health":
            return self.reply(200, {"status": "ok", "service": os.environ.get("SERVICE_NAME"), "version": VERSION})
        if self.path == "/api/version":
            forwarded = {name: self.headers.get("X-Forwarded-" + name) for name in ("Prefix", "Proto", "Host", "For")}
            return self.reply(200, {"version": VERSION, "droplet": os.environ.get("HOSTNAME"), "forwarded": forwarded})
        if self.path == "/api/items":
            conn = db()
            with conn, conn.cursor() as cur:
                cur.execute("SELECT i.id, i.name, e.status FROM items i LEFT JOIN emails e ON e.item_id = i.id "
                            "ORDER BY i.id")
                rows = [{"id": r[0], "name": r[1], "email": r[2] or "queued"} for r in cur.fetchall()]
            return self.reply(200, {"items": rows})
        return self.reply(404, {"error": "not found"})

    def do_POST(self):  # noqa: N802
        if self.path != "/api/items":
            return self.reply(404, {"error": "not found"})
        length = int(self.headers.get("Content-Length") or 0)
        try:
            name = str(json.loads(self.rfile.read(length) or b"{}")["name"])[:200]
        except (ValueError, KeyError, TypeError):
            return self.reply(400, {"error": "expected {\"name\": ...}"})
        conn = db()
        with conn, conn.cursor() as cur:
            cur.execute("INSERT INTO items (name) VALUES (%s) RETURNING id", (name,))
            item_id = cur.fetchone()[0]
        QUEUE_CLIENT.lpush(QUEUE, item_id)
        return self.reply(201, {"id": item_id, "queued": QUEUE})


def main():
    migrate()
    server = ThreadingHTTPServer(("0.0.0.0", int(os.environ["SERVICE_PORT"])), Handler)
    # SIGTERM: stop accepting, let the requests in flight finish (server_close joins their threads), exit
    server.daemon_threads = False
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    print("backend %s listening on %s" % (VERSION, os.environ["SERVICE_PORT"]), flush=True)
    server.serve_forever()
    server.server_close()


if __name__ == "__main__":
    main()
