"""A small HTTP load generator: keep-alive clients in threads, counting every failure.

Used by the zero-downtime test and ``benchmarks/deploy.py``. Each worker keeps one persistent connection
and sends GET requests until stopped. A request counts as failed when the response is not 2xx or the
connection fails (refused, reset, timeout). The one exception is the case RFC 9112 section 9.3.1 lets a
client retry: a reused keep-alive connection that the server closed before any byte of the response
arrived (nginx closes idle keep-alive connections when it reloads); the request is sent again once on a
new connection and counted in ``retried`` - a second failure counts as an error.
"""

from __future__ import annotations

import http.client
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional
from urllib.parse import urlsplit


@dataclass
class LoadResult:
    requests: int = 0
    ok: int = 0
    non_2xx: int = 0
    errors: int = 0
    retried: int = 0
    seconds: float = 0.0
    statuses: Counter = field(default_factory=Counter)
    seen: Counter = field(default_factory=Counter)
    samples: List[str] = field(default_factory=list)
    failed_at: List[float] = field(default_factory=list)  # when each failed request was sent (time.time())

    @property
    def failed(self) -> int:
        return self.non_2xx + self.errors

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def to_json(self) -> Dict[str, object]:
        return {"requests": self.requests, "ok": self.ok, "non_2xx": self.non_2xx, "errors": self.errors,
                "failed": self.failed, "retried": self.retried, "seconds": round(self.seconds, 2),
                "rps": round(self.rps, 1), "statuses": dict(self.statuses), "seen": dict(self.seen),
                "samples": self.samples[:5]}


class Load:
    """``with Load(urls, workers=4) as load: ...`` sends requests until the block ends; then read ``load.result``.

    ``classify`` maps a 2xx body to a label counted in ``result.seen`` (e.g. the version that answered).
    """

    def __init__(self, urls: List[str], workers: int = 4, timeout: float = 10.0,
                 classify: Optional[Callable[[bytes], str]] = None) -> None:
        self.urls = list(urls)
        self.workers = workers
        self.timeout = timeout
        self.classify = classify
        self.result = LoadResult()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: List[threading.Thread] = []
        self._started = 0.0
        self._local = threading.local()

    def __enter__(self) -> Load:
        self._started = time.monotonic()
        for index in range(self.workers):
            thread = threading.Thread(target=self._run, args=(index,), daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(self.timeout + 5)
        self.result.seconds = time.monotonic() - self._started

    def run_for(self, seconds: float) -> LoadResult:
        with self:
            time.sleep(seconds)
        return self.result

    def _run(self, index: int) -> None:
        conn: Optional[http.client.HTTPConnection] = None
        count = 0
        while not self._stop.is_set():
            url = urlsplit(self.urls[(index + count) % len(self.urls)])
            count += 1
            path = (url.path or "/") + ("?" + url.query if url.query else "")
            reused = conn is not None
            self._local.sent = time.time()
            if conn is None:
                conn = http.client.HTTPConnection(url.hostname, url.port or 80, timeout=self.timeout)
            try:
                status, body = self._get(conn, path)
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError) as exc:
                conn.close()
                conn = None
                if not reused:
                    self._record(None, b"", "%s: %s" % (type(exc).__name__, exc))
                    continue
                conn = http.client.HTTPConnection(url.hostname, url.port or 80, timeout=self.timeout)
                try:
                    status, body = self._get(conn, path)
                except (OSError, http.client.HTTPException) as again:
                    conn.close()
                    conn = None
                    self._record(None, b"", "%s: %s" % (type(again).__name__, again))
                    continue
                with self._lock:
                    self.result.retried += 1
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                conn = None
                self._record(None, b"", "%s: %s" % (type(exc).__name__, exc))
                continue
            self._record(status, body, None)
        if conn is not None:
            conn.close()

    @staticmethod
    def _get(conn: http.client.HTTPConnection, path: str) -> tuple:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read()

    def _record(self, status: Optional[int], body: bytes, error: Optional[str]) -> None:
        label = self.classify(body) if self.classify and status and 200 <= status < 300 else None
        with self._lock:
            result = self.result
            result.requests += 1
            if error is not None:
                result.errors += 1
                result.samples.append(error)
                result.failed_at.append(self._local.sent)
                return
            result.statuses[status] += 1
            if 200 <= status < 300:  # type: ignore[operator]
                result.ok += 1
                if label is not None:
                    result.seen[label] += 1
            else:
                result.non_2xx += 1
                result.samples.append("HTTP %s: %s" % (status, body[:200].decode(errors="replace")))
                result.failed_at.append(self._local.sent)


def main(argv: Optional[List[str]] = None) -> int:
    """``python3 loadgen.py URL [URL ...] --seconds S --workers N``: one JSON line of figures. The file has no
    dependency beyond the standard library, so it runs as it is inside a droplet too."""
    import argparse
    import json

    parser = argparse.ArgumentParser(description="send GET requests for a while; print the figures as JSON")
    parser.add_argument("urls", nargs="+")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--workers", type=int, default=8)
    args = parser.parse_args(argv)
    print(json.dumps(Load(args.urls, workers=args.workers).run_for(args.seconds).to_json()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
