"""The web process: a login form, a timeline, posting. Listens on $PORT (5000).

Behind a reverse proxy it trusts X-Forwarded-Proto/Host/Prefix (what werkzeug's ProxyFix does), so its
redirects are absolute URLs and its links carry the prefix it is served under, if any.
"""

import html
import json
import os
import secrets
import signal
import sys
import threading
from http.cookies import SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from microblog.store import QUEUE, database, queue

STATIC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "static")
LOCAL = threading.local()


def db():
    if getattr(LOCAL, "conn", None) is None or LOCAL.conn.closed:
        LOCAL.conn = database()
    return LOCAL.conn


PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>microblog</title>
<link rel="stylesheet" href="{prefix}/static/style.css"></head>
<body><h1>microblog</h1>{body}</body></html>
"""


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    # -- where we are served -------------------------------------------------------------------------------------
    def prefix(self):
        return (self.headers.get("X-Forwarded-Prefix") or "").rstrip("/")

    def absolute(self, path):
        proto = self.headers.get("X-Forwarded-Proto") or "http"
        host = self.headers.get("X-Forwarded-Host") or self.headers.get("Host") or "localhost"
        return "%s://%s%s%s" % (proto, host, self.prefix(), path)

    # -- replies ---------------------------------------------------------------------------------------------------
    def send(self, status, body, content_type="text/html; charset=utf-8", headers=()):
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def redirect(self, path, headers=()):
        self.send(303 if self.command == "POST" else 302, "", headers=[("Location", self.absolute(path)), *headers])

    def page(self, body):
        self.send(200, PAGE.format(prefix=html.escape(self.prefix()), body=body))

    def user(self):
        cookie = SimpleCookie(self.headers.get("Cookie") or "")
        if "session" not in cookie:
            return None
        with db(), db().cursor() as cur:
            cur.execute("SELECT name FROM sessions WHERE token = %s", (cookie["session"].value,))
            row = cur.fetchone()
        return row[0] if row else None

    def form(self):
        length = int(self.headers.get("Content-Length") or 0)
        return {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}

    # -- routes ----------------------------------------------------------------------------------------------------
    def do_GET(self):
        url = urlsplit(self.path)
        if url.path == "/health":
            with db(), db().cursor() as cur:
                cur.execute("SELECT 1")
            return self.send(200, "ok", "text/plain")
        if url.path == "/static/style.css":
            with open(os.path.join(STATIC, "style.css"), "rb") as handle:
                return self.send(200, handle.read(), "text/css")
        if url.path == "/login":
            nxt = html.escape(parse_qs(url.query).get("next", ["/"])[0])
            return self.page('<form method="post" action="%s/login"><input type="hidden" name="next" value="%s">'
                             '<label>Name <input name="name" required></label> <button>Log in</button></form>'
                             % (html.escape(self.prefix()), nxt))
        if url.path == "/api/posts":
            with db(), db().cursor() as cur:
                cur.execute("SELECT id, author, body, delivered FROM posts ORDER BY id")
                rows = [{"id": i, "author": a, "body": b, "delivered": d} for i, a, b, d in cur.fetchall()]
            return self.send(200, json.dumps({"posts": rows}), "application/json")
        if url.path == "/":
            name = self.user()
            if name is None:
                return self.redirect("/login?next=/")
            with db(), db().cursor() as cur:
                cur.execute("SELECT author, body FROM posts ORDER BY id DESC LIMIT 20")
                posts = "".join("<li><b>%s</b> %s</li>" % (html.escape(a), html.escape(b)) for a, b in cur.fetchall())
            prefix = html.escape(self.prefix())
            return self.page('<p id="hello">Hello, %s</p><form method="post" action="%s/posts">'
                             '<input name="body" required> <button>Post</button></form><ul>%s</ul>'
                             '<p><a href="%s/logout">Log out</a></p>' % (html.escape(name), prefix, posts, prefix))
        if url.path == "/logout":
            return self.redirect("/login", headers=[("Set-Cookie", self.cookie("", max_age=0))])
        return self.send(404, "not found", "text/plain")

    def do_POST(self):
        url = urlsplit(self.path)
        if url.path == "/login":
            fields = self.form()
            name = fields.get("name", "").strip()[:40]
            if not name:
                return self.redirect("/login")
            token = secrets.token_urlsafe(24)
            with db(), db().cursor() as cur:
                cur.execute("INSERT INTO users (name) VALUES (%s) ON CONFLICT DO NOTHING", (name,))
                cur.execute("INSERT INTO sessions (token, name) VALUES (%s, %s)", (token, name))
            nxt = fields.get("next", "/")
            return self.redirect(nxt if nxt.startswith("/") and not nxt.startswith("//") else "/",
                                 headers=[("Set-Cookie", self.cookie(token))])
        if url.path == "/posts":
            name = self.user()
            if name is None:
                return self.redirect("/login?next=/")
            with db(), db().cursor() as cur:
                cur.execute("INSERT INTO posts (author, body) VALUES (%s, %s) RETURNING id",
                            (name, self.form().get("body", "")[:280]))
                post = cur.fetchone()[0]
            queue().rpush(QUEUE, post)
            return self.redirect("/")
        return self.send(404, "not found", "text/plain")

    def cookie(self, value, max_age=None):
        """The session cookie, scoped to where the app is served (its prefix, or its own host)."""
        parts = ["session=%s" % value, "Path=%s" % (self.prefix() or "/"), "HttpOnly", "SameSite=Lax"]
        if (self.headers.get("X-Forwarded-Proto") or "http") == "https":
            parts.append("Secure")
        if max_age is not None:
            parts.append("Max-Age=%d" % max_age)
        return "; ".join(parts)

    def log_message(self, fmt, *args):
        sys.stderr.write("web: %s\n" % (fmt % args))


def main():
    server = ThreadingHTTPServer(("0.0.0.0", int(os.environ.get("PORT", "5000"))), Handler)
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    print("web: listening on %d" % server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
