"""Delivers new posts (here: marks them delivered) from the Redis queue."""

import signal
import sys

from microblog.store import QUEUE, database, queue


def main():
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    conn, jobs = database(), queue()
    print("worker: waiting for posts", flush=True)
    while True:
        item = jobs.blpop([QUEUE], timeout=5)
        if item is None:
            continue
        with conn, conn.cursor() as cur:
            cur.execute("UPDATE posts SET delivered = true WHERE id = %s", (int(item[1]),))
        print("worker: delivered post %s" % item[1].decode(), flush=True)


if __name__ == "__main__":
    main()
