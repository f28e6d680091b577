"""Where the local cloud keeps its files under the config dir, and its settings (``localcloud/cloud.json``)."""

from __future__ import annotations

import ipaddress
import json
import os
import secrets
from dataclasses import dataclass
from typing import Dict, Tuple

from pcloud.localcloud.engine import CloudConfig
from pcloud.localcloud.store import write_json_atomic

DIRNAME = "localcloud"
DEFAULT_NAME = "pcloud"
DEFAULT_NETWORK = "pcloud-droplets"
DEFAULT_SUBNET = "10.199.0.0/24"
DEFAULT_PORT = 8910
# Custom-scoped tokens, as DigitalOcean offers them, created beside the full-access token (mode 0600): scope -> file.
# The health agents get only the droplet:read one (they read a droplet's status, nothing else).
SCOPED_TOKENS: Dict[str, str] = {"droplet:read": "token-droplet-read"}


@dataclass(frozen=True)
class Settings:
    cloud: CloudConfig
    port: int


def path(config_dir: str, name: str) -> str:
    return os.path.join(config_dir, DIRNAME, name)


def load(config_dir: str) -> Settings:
    with open(path(config_dir, "cloud.json"), encoding="utf-8") as handle:
        data = json.load(handle)
    return Settings(cloud=CloudConfig(name=data["name"], cloud_id=data["cloud_id"], network=data["network"],
                                      subnet=data["subnet"]), port=int(data["port"]))


def init(config_dir: str, name: str, network: str, subnet: str, port: int) -> Settings:
    """Create cloud.json, the token and the scoped tokens on first use; later calls keep what is there."""
    os.makedirs(os.path.join(config_dir, DIRNAME), mode=0o700, exist_ok=True)
    if not os.path.exists(path(config_dir, "cloud.json")):
        net = ipaddress.ip_network(subnet, strict=True)
        if net.version != 4 or net.prefixlen > 28:
            raise ValueError("subnet %s must be an IPv4 network of /28 or larger" % subnet)
        write_json_atomic(path(config_dir, "cloud.json"), {
            "name": name, "cloud_id": secrets.token_hex(6), "network": network, "subnet": str(net), "port": port},
            mode=0o644)
    for filename in ["token", *SCOPED_TOKENS.values()]:
        token_path = path(config_dir, filename)
        if not os.path.exists(token_path):
            fd = os.open(token_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_hex(24) + "\n")
    return load(config_dir)


def read_token(config_dir: str, scope: str = "") -> str:
    """The full-access token, or the token of ``scope`` (a key of SCOPED_TOKENS)."""
    with open(path(config_dir, SCOPED_TOKENS[scope] if scope else "token"), encoding="utf-8") as handle:
        return handle.read().strip()


def scoped_tokens(config_dir: str) -> Dict[str, Tuple[str, ...]]:
    """``{token: scopes}`` of the scoped tokens that exist (the full-access token is not among them)."""
    out: Dict[str, Tuple[str, ...]] = {}
    for scope, name in SCOPED_TOKENS.items():
        if os.path.exists(path(config_dir, name)):
            out[read_token(config_dir, scope)] = (scope,)
    return out
