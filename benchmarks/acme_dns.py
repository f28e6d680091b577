"""An apex and its wildcard issued over DNS-01 (the issue's target: <= 10 s on pebble; a naive client that waits
60 s between challenges takes minutes).

Runs the steps of the nginx_lb role's acme.yml (account and certificate keys, the order, pcloud.infra.acme_challenges,
pcloud.infra.pcloud_dns_txt publishing both TXT values through a Cloudflare API subset and waiting for the DNS
server to answer them, validation, issue, removal) against pebble and pebble-challtestsrv on loopback, and prints
the median, min and max of the whole ansible-playbook run over --runs runs (Ansible's own start-up included).
Exits 1 when a run fails or the median exceeds the target.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.localcloud.cloudflare import FakeCloudflare  # noqa: E402
from tests.localcloud.pebble import Pebble  # noqa: E402
from tests.test_acme_dns import PLAYBOOK, TOKEN, _play  # noqa: E402

TARGET_S = 10.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    times = []
    with tempfile.TemporaryDirectory(prefix="pcloud-bench-acme-") as tmp, \
            Pebble(Path(tmp) / "pebble", resolve_to="127.0.0.1") as ca, \
            FakeCloudflare(TOKEN, ["hostomatic.example"], str(ca.dir / "listener.crt"), str(ca.dir / "listener.key")) as cf:
        for run in range(args.runs):
            work = Path(tmp) / ("run%d" % run)
            work.mkdir()
            started = time.monotonic()
            result = _play(work, PLAYBOOK, dir=str(work), directory=ca.directory_url, cf_url=cf.url, cf_token=TOKEN,
                           env={"SSL_CERT_FILE": ca.ca_bundle})
            took = time.monotonic() - started
            if result.returncode != 0 or not (work / "site.crt").exists():
                print("acme-dns: run %d failed:\n%s" % (run, result.stdout[-3000:]), file=sys.stderr)
                return 1
            times.append(took)
    median = statistics.median(times)
    print("acme-dns apex + wildcard issued (DNS-01, pebble): median %.2f s, min %.2f s, max %.2f s over %d runs "
          "(target <= %.0f s)" % (median, min(times), max(times), len(times), TARGET_S))
    return 0 if median <= TARGET_S else 1


if __name__ == "__main__":
    sys.exit(main())
