"""hostomatic frontend: the static site, plus /health."""

import json
import os
import signal
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "site")


class Handler(SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 5  # an idle keep-alive connection ends, so a stopping server is not held open

    def log_message(self, fmt, *args):
        pass

    def do_GET(self):  # noqa: N802
        if self.path == "/health":
            data = json.dumps({"status": "ok", "service": os.environ.get("SERVICE_NAME")}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        super().do_GET()


def main():
    server = ThreadingHTTPServer(("0.0.0.0", int(os.environ["SERVICE_PORT"])), partial(Handler, directory=ROOT))
    # SIGTERM: stop accepting, let the requests in flight finish (server_close joins their threads), exit
    server.daemon_threads = False
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    server.serve_forever()
    server.server_close()


if __name__ == "__main__":
    main()
