# -*- coding: utf-8 -*-
# Copyright (c) pcloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Private to this collection: the API of this file may change without notice.
"""The provider: where the DigitalOcean-shaped API lives, and a small read-only client for it.

Provisioning itself goes through the community.digitalocean modules; this client only reads
(the droplet list for the inventory, ``pcloud plan`` and ``pcloud status``).
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.parse
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Mapping, Optional

from ansible.module_utils.urls import open_url

from ansible_collections.pcloud.infra.plugins.module_utils.errors import ProviderError

DIGITALOCEAN_URL = "https://api.digitalocean.com/v2"
# Environment variables for a DigitalOcean token, in the order they are tried.
DO_TOKEN_VARS = ("DO_API_TOKEN", "DIGITALOCEAN_TOKEN", "DO_OAUTH_TOKEN")
# The health agents' read-only token (scope droplet:read), when given; never the full-access one.
AGENT_TOKEN_VAR = "PCLOUD_AGENT_API_TOKEN"
PAGE_SIZE = 200
LOCALCLOUD_DIR = "localcloud"
LOCAL_READ_ONLY_TOKEN = "token-droplet-read"  # what 'pcloud local up' writes beside the full-access token
MAX_PAGES = 500


@dataclass(frozen=True)
class Provider:
    name: str  # "digitalocean" or "local"
    url: str
    token: str

    def __repr__(self) -> str:  # never show the token
        return "Provider(name=%r, url=%r)" % (self.name, self.url)


def local_endpoint(config_dir: str) -> Optional[Dict[str, str]]:
    """The running local cloud of ``config_dir``: ``url``, ``droplet_url`` (as droplets reach it) and ``token``."""
    base = os.path.join(config_dir, LOCALCLOUD_DIR)
    try:
        with open(os.path.join(base, "endpoint.json"), encoding="utf-8") as handle:
            data = json.load(handle)
        with open(os.path.join(base, "token"), encoding="utf-8") as handle:
            token = handle.read().strip()
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("url"), str):
        return None
    return {"url": data["url"], "droplet_url": str(data.get("droplet_url") or ""), "token": token}


def local_gateway(config_dir: str) -> Optional[str]:
    """The droplet network's gateway of the local cloud: where this machine's traffic to droplets comes from."""
    local = local_endpoint(config_dir)
    host = urllib.parse.urlsplit(local["droplet_url"]).hostname if local else None
    return host or None


def resolve_provider(environ: Mapping[str, str], url: Optional[str] = None, token: Optional[str] = None,
                     config_dir: Optional[str] = None) -> Optional[Provider]:
    """Explicit URL/token win; else PCLOUD_API_URL/PCLOUD_API_TOKEN; else a DigitalOcean token;
    else the local cloud started for ``config_dir``. Returns None when no provider is configured.
    """
    url = url or environ.get("PCLOUD_API_URL")
    token = token or environ.get("PCLOUD_API_TOKEN")
    if url:
        name = "digitalocean" if url.rstrip("/") == DIGITALOCEAN_URL else "local"
        return Provider(name=name, url=url.rstrip("/"), token=token or "")
    for var in DO_TOKEN_VARS:
        if environ.get(var):
            return Provider(name="digitalocean", url=DIGITALOCEAN_URL, token=environ[var])
    local = local_endpoint(config_dir) if config_dir else None
    if local:
        return Provider(name="local", url=local["url"].rstrip("/"), token=local["token"])
    return None


def agent_provider(environ: Mapping[str, str], config_dir: Optional[str] = None, token: Optional[str] = None
                   ) -> Optional[Provider]:
    """The provider as the health agents on the droplets use it: the same provider as :func:`resolve_provider`,
    at the address droplets reach it by, with a read-only token (scope droplet:read) - never the full-access one.

    The token is ``token``, else ``PCLOUD_AGENT_API_TOKEN``, else (the provider is the local cloud of
    ``config_dir``) its ``localcloud/token-droplet-read``, else empty: the agents then do not consult the provider.
    None when no provider is configured.
    """
    provider = resolve_provider(environ, config_dir=config_dir)
    if provider is None:
        return None
    read_only = token or environ.get(AGENT_TOKEN_VAR) or ""
    local = local_endpoint(config_dir) if config_dir and provider.name == "local" else None
    if local is None or provider.url != local["url"].rstrip("/"):
        return Provider(name=provider.name, url=provider.url, token=read_only)
    if not read_only:
        try:
            with open(os.path.join(config_dir or "", LOCALCLOUD_DIR, LOCAL_READ_ONLY_TOKEN), encoding="utf-8") as handle:
                read_only = handle.read().strip()
        except OSError:
            read_only = ""
    return Provider(name="local", url=(local["droplet_url"] or local["url"]).rstrip("/"), token=read_only)


Opener = Callable[[str, Dict[str, str], float], Any]


def _default_opener(url: str, headers: Dict[str, str], timeout: float) -> Any:
    return open_url(url, headers=headers, timeout=timeout, method="GET", validate_certs=True)


class Client:
    """Read-only DigitalOcean API v2 client (urllib only, so it runs wherever Ansible runs)."""

    def __init__(self, provider: Provider, timeout: float = 30.0, opener: Optional[Opener] = None) -> None:
        self.provider = provider
        self.timeout = timeout
        self._open = opener or _default_opener
        parsed = urllib.parse.urlsplit(provider.url)
        self._origin = (parsed.scheme, parsed.netloc)

    def _get(self, url: str) -> Dict[str, Any]:
        headers = {
            "Authorization": "Bearer %s" % self.provider.token,
            "Accept": "application/json",
            "User-Agent": "pcloud",
        }
        try:
            with self._open(url, headers, self.timeout) as response:
                body = response.read()
        except urllib.error.HTTPError as exc:
            payload = _json_or_text(exc.read())
            message = payload.get("message") if isinstance(payload, dict) else None
            raise ProviderError("%s answered HTTP %d for GET %s: %s"
                                % (self.provider.name, exc.code, _path(url), message or exc.reason),
                                status=exc.code, response=payload) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise ProviderError("cannot reach the %s API at %s: %s" % (self.provider.name, self.provider.url, reason)
                                ) from None
        payload = _json_or_text(body)
        if not isinstance(payload, dict):
            raise ProviderError("%s answered GET %s with a body that is not a JSON object"
                                % (self.provider.name, _path(url)), response=payload)
        return payload

    def list(self, collection: str, key: str, query: Optional[Mapping[str, str]] = None) -> List[Dict[str, Any]]:
        """Every item of a paginated collection, following ``links.pages.next`` on the same origin."""
        params = dict(query or {})
        params.setdefault("per_page", str(PAGE_SIZE))
        url: Optional[str] = "%s/%s?%s" % (self.provider.url, collection, urllib.parse.urlencode(sorted(params.items())))
        items: List[Dict[str, Any]] = []
        for _page in range(MAX_PAGES):
            if url is None:
                return items
            page = self._get(url)
            if not isinstance(page.get(key), list):
                raise ProviderError("%s answered GET %s without a %r list" % (self.provider.name, _path(url), key),
                                    response=page)
            items.extend(page[key])
            url = ((page.get("links") or {}).get("pages") or {}).get("next")
            if url is not None and urllib.parse.urlsplit(url)[:2] != self._origin:
                raise ProviderError("refusing to follow pagination to another host: %s" % url)
        raise ProviderError("more than %d pages of %s; giving up" % (MAX_PAGES, collection))

    def droplets(self, tag: Optional[str] = None) -> List[Dict[str, Any]]:
        return self.list("droplets", "droplets", {"tag_name": tag} if tag else None)


def _json_or_text(body: bytes) -> Any:
    try:
        return json.loads(body.decode("utf-8") or "null")
    except (UnicodeDecodeError, ValueError):
        return body.decode("utf-8", "replace")[:500]


def _path(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return parts.path + ("?" + parts.query if parts.query else "")
