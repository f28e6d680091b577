"""pebble, Let's Encrypt's ACME test server (Debian package ``pebble``), on this machine's loopback.

pebble-challtestsrv answers pebble's DNS queries: every name resolves to the address given (master's), so pebble's
HTTP-01 validation really connects to the load balancer on port 80. pebble's own listener gets a certificate made
here; ``ca_bundle`` is the system bundle plus that certificate, for ``SSL_CERT_FILE``.
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import os
import shutil
import socket
import ssl
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Dict, List

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

SYSTEM_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"


def ensure_installed() -> None:
    if shutil.which("pebble") and shutil.which("pebble-challtestsrv"):
        return
    if os.geteuid() != 0:
        raise RuntimeError("pebble is missing: apt-get install pebble (Debian 12)")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env, stdout=subprocess.DEVNULL)
    subprocess.run(["apt-get", "install", "-y", "-qq", "pebble"], check=True, env=env, stdout=subprocess.DEVNULL)


def _listener_cert(directory: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "pebble test listener")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    (directory / "listener.key").write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                                               serialization.PrivateFormat.PKCS8,
                                                               serialization.NoEncryption()))
    (directory / "listener.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))


class Pebble:
    """``with Pebble(tmp, resolve_to=ip) as ca:`` runs pebble and its DNS until the block ends."""

    def __init__(self, directory: Path, resolve_to: str, port: int = 14000) -> None:
        self.dir = Path(directory)
        self.resolve_to = resolve_to
        self.port = port
        self.procs: List[subprocess.Popen] = []
        self.directory_url = "https://127.0.0.1:%d/dir" % port
        self.ca_bundle = str(self.dir / "bundle.pem")

    def __enter__(self) -> Pebble:
        ensure_installed()
        self.dir.mkdir(parents=True, exist_ok=True)
        _listener_cert(self.dir)
        bundle = Path(SYSTEM_BUNDLE).read_text() if os.path.exists(SYSTEM_BUNDLE) else ""
        Path(self.ca_bundle).write_text(bundle + (self.dir / "listener.crt").read_text())
        config = {"pebble": {"listenAddress": "127.0.0.1:%d" % self.port,
                             "managementListenAddress": "127.0.0.1:%d" % (self.port + 1000),
                             "certificate": str(self.dir / "listener.crt"),
                             "privateKey": str(self.dir / "listener.key"),
                             "httpPort": 80, "tlsPort": 443, "ocspResponderURL": "",
                             "externalAccountBindingRequired": False}}
        (self.dir / "pebble.json").write_text(json.dumps(config))
        log = open(self.dir / "pebble.log", "ab")
        self.procs.append(subprocess.Popen(
            ["pebble-challtestsrv", "-defaultIPv4", self.resolve_to, "-defaultIPv6", "", "-dns01", "127.0.0.1:18053",
             "-http01", "", "-https01", "", "-tlsalpn01", "", "-management", "127.0.0.1:18055"],
            stdout=log, stderr=subprocess.STDOUT))
        env = dict(os.environ, PEBBLE_VA_NOSLEEP="1", PEBBLE_WFE_NONCEREJECT="0")
        self.procs.append(subprocess.Popen(["pebble", "-config", str(self.dir / "pebble.json"),
                                            "-dnsserver", "127.0.0.1:18053"],
                                           stdout=log, stderr=subprocess.STDOUT, env=env))
        deadline = time.monotonic() + 30
        while True:
            try:
                self.get(self.directory_url)
                socket.create_connection(("127.0.0.1", 18055), timeout=1).close()  # the DNS side is up too
                if all(p.poll() is None for p in self.procs):
                    return self
            except OSError:
                pass
            if time.monotonic() > deadline or any(p.poll() is not None for p in self.procs):
                self.__exit__()
                raise RuntimeError("pebble did not start: %s" % (self.dir / "pebble.log").read_text()[-2000:])
            time.sleep(0.2)

    def get(self, url: str) -> bytes:
        ctx = ssl.create_default_context(cafile=str(self.dir / "listener.crt"))
        with urllib.request.urlopen(url, context=ctx, timeout=5) as response:
            return response.read()

    def roots(self) -> str:
        """pebble's issuing root (random per start), to verify what it issued."""
        return self.get("https://127.0.0.1:%d/roots/0" % (self.port + 1000)).decode()

    def env(self) -> Dict[str, str]:
        """What a deploy needs to use this CA."""
        return {"PCLOUD_ACME_DIRECTORY": self.directory_url, "SSL_CERT_FILE": self.ca_bundle}

    def __exit__(self, *exc: object) -> None:
        for proc in self.procs:
            proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
        self.procs = []
