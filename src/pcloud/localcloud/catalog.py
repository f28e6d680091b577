"""Static catalogue of the local cloud (sizes, regions, distribution images) and pure helpers."""

from __future__ import annotations

import base64
import hashlib
import urllib.parse
from datetime import UTC, datetime
from typing import Any, Dict, List, Mapping, Optional, Tuple

from pcloud import _collection  # noqa: F401

from ansible_collections.pcloud.infra.plugins.module_utils.names import REGIONS, SIZES  # isort: skip

DEFAULT_PER_PAGE = 20
MAX_PER_PAGE = 200
# Distribution slugs a create request may name; every one runs the local Debian droplet image.
DISTRIBUTIONS: Dict[str, Tuple[int, str, str]] = {
    "debian-12-x64": (9001, "Debian", "12 x64"),
    "debian-11-x64": (9002, "Debian", "11 x64"),
    "ubuntu-24-04-x64": (9003, "Ubuntu", "24.04 (LTS) x64"),
    "ubuntu-22-04-x64": (9004, "Ubuntu", "22.04 (LTS) x64"),
}
MAX_HOST_CPUS = 64


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def fingerprint(public_key: str) -> str:
    """MD5 of the base64-decoded key blob, lower-case hex pairs joined by ':' (as DigitalOcean and the module)."""
    parts = public_key.strip().split()
    if len(parts) < 2:
        raise ValueError("not an OpenSSH public key")
    blob = base64.b64decode(parts[1].encode("ascii"), validate=True)
    digest = hashlib.md5(blob).hexdigest()
    return ":".join(digest[i:i + 2] for i in range(0, len(digest), 2))


def size_object(slug: str) -> Dict[str, Any]:
    size = SIZES[slug]
    monthly = round(size.memory_mb / 1024 * 6.0, 2)
    return {
        "slug": slug, "memory": size.memory_mb, "vcpus": size.vcpus, "disk": size.disk_gb, "transfer": 1.0,
        "price_monthly": monthly, "price_hourly": round(monthly / 730, 5), "regions": sorted(REGIONS),
        "available": True, "description": "Basic" if slug.startswith("s-") else "Dedicated",
    }


def region_object(slug: str) -> Dict[str, Any]:
    return {"name": "pcloud local (%s)" % slug, "slug": slug, "features": ["private_networking", "metadata"],
            "available": True, "sizes": sorted(SIZES)}


def distribution_image(slug: str, created_at: str) -> Dict[str, Any]:
    image_id, distro, version = DISTRIBUTIONS[slug]
    return {"id": image_id, "name": "%s (pcloud local Debian droplet)" % version, "distribution": distro,
            "slug": slug, "public": True, "regions": sorted(REGIONS), "created_at": created_at, "type": "base",
            "min_disk_size": 10, "size_gigabytes": 0.5, "description": "pcloud local cloud droplet image",
            "tags": [], "status": "available", "error_message": ""}


def container_limits(slug: str, host_cpus: int) -> Dict[str, int]:
    """docker run limits for a size: vCPUs capped to the host's cores, memory as given."""
    size = SIZES[slug]
    cpus = max(1, min(size.vcpus, host_cpus, MAX_HOST_CPUS))
    return {"nano_cpus": cpus * 1_000_000_000, "mem_limit": size.memory_mb * 1024 * 1024}


def page_params(query: Mapping[str, str]) -> Tuple[int, int]:
    try:
        page = max(1, int(query.get("page", 1)))
        per_page = min(MAX_PER_PAGE, max(1, int(query.get("per_page", DEFAULT_PER_PAGE))))
    except ValueError:
        raise ValueError("page and per_page must be whole numbers") from None
    return page, per_page


def paginate(items: List[Any], base_url: str, path: str, query: Mapping[str, str]) -> Tuple[List[Any], Dict[str, Any]]:
    """One page of ``items`` and the ``links`` object: absolute URLs on this server, only the keys that apply."""
    page, per_page = page_params(query)
    total = len(items)
    last = max(1, -(-total // per_page))
    chunk = items[(page - 1) * per_page: page * per_page]

    def url(number: int) -> str:
        params = dict(query)
        params.update(page=str(number), per_page=str(per_page))
        return "%s%s?%s" % (base_url.rstrip("/"), path, urllib.parse.urlencode(sorted(params.items())))

    pages: Dict[str, str] = {}
    if page > 1:
        pages["first"] = url(1)
        pages["prev"] = url(min(page - 1, last))
    if page < last:
        pages["next"] = url(page + 1)
        pages["last"] = url(last)
    return chunk, ({"pages": pages} if pages else {})


def public_network(ip: str, netmask: str, gateway: str) -> Dict[str, List[Dict[str, str]]]:
    return {"v4": [{"ip_address": ip, "netmask": netmask, "gateway": gateway, "type": "public"}], "v6": []}


def parse_image(value: Any) -> Tuple[str, Optional[int]]:
    """``("distribution", None)`` for a known slug, ``("snapshot", id)`` for a numeric id (int or string)."""
    if isinstance(value, bool):
        raise ValueError("image must be a slug or an id")
    if isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
        return "snapshot", int(value)
    if isinstance(value, str) and value in DISTRIBUTIONS:
        return "distribution", None
    raise ValueError("image %r is not available here (use one of %s or a snapshot id)"
                     % (value, ", ".join(sorted(DISTRIBUTIONS))))
