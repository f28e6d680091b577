"""The DigitalOcean API v2 subset the community.digitalocean modules and pcloud use, over Docker.

Responses follow the official schema (tests validate every one of them); requests are accepted
in the looser shapes the modules really send (nulls, string ids, unknown keys). Droplets are
``active`` and actions ``completed`` by the time a client polls, so no client ever sleeps.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import re
import uuid
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Tuple

from flask import Flask, Response, request

from pcloud import _collection  # noqa: F401
from pcloud.localcloud import catalog, firewall
from pcloud.localcloud.engine import DROPLET_IMAGE, TEMPLATE_VOLUME, Engine, EngineError, host_key_files
from pcloud.localcloud.store import Store

from ansible_collections.pcloud.infra.plugins.module_utils import agentauth  # isort: skip

TAG_RE = re.compile(r"^[a-zA-Z0-9_\-:]{1,255}\Z")
DROPLET_NAME_RE = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9.-]{0,252}\Z")
DROPLET_NAME = re.compile(r"^[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?\Z")  # pcloud's droplet names
INCIDENT = re.compile(r"^[a-z0-9][a-z0-9-]{0,100}\Z")
FIREWALL_NAME_RE = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9.-]{0,254}\Z")
DEFAULT_REGION = "lon1"


class ApiError(Exception):
    def __init__(self, status: int, error_id: str, message: str) -> None:
        super().__init__(message)
        self.status, self.error_id, self.message = status, error_id, message


def _not_found(what: str) -> ApiError:
    return ApiError(404, "not_found", "The resource you were accessing could not be found (%s)." % what)


def _unprocessable(message: str) -> ApiError:
    return ApiError(422, "unprocessable_entity", message)


def _json(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, mimetype="application/json")


def _empty() -> Response:
    return Response(status=204)


def _body() -> Dict[str, Any]:
    raw = request.get_data(cache=True)
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except ValueError:
        raise ApiError(400, "bad_request", "The request body is not valid JSON.") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ApiError(400, "bad_request", "The request body must be a JSON object.")
    return data


def _list(value: Any) -> List[Any]:
    return [] if value is None else list(value) if isinstance(value, (list, tuple)) else [value]


class LocalCloud:
    """Request handlers bound to one store and one engine."""

    def __init__(self, store: Store, engine: Optional[Engine], token: str,
                 recover: Optional[Callable[[str, str, str, bool], str]] = None,
                 scoped_tokens: Optional[Mapping[str, Iterable[str]]] = None,
                 agent_key: Optional[Callable[[], Optional[bytes]]] = None) -> None:
        self.store = store
        self.engine = engine
        self.token = token  # full access
        self.scoped_tokens = {t: tuple(s) for t, s in (scoped_tokens or {}).items()}  # token -> scopes
        self.recover = recover  # starts 'pcloud recover' on the control node (not part of the DigitalOcean API)
        self.agent_key = agent_key or (lambda: None)  # the fleet key (read when needed: it may appear later)
        self._verifier: Optional[agentauth.Verifier] = None

    def verify_agent(self, method: str, path: str, headers: Mapping[str, str], body: bytes) -> None:
        """A request of a health agent: signed with the fleet key (``agentauth``); AgentAuthError otherwise."""
        key = self.agent_key()
        if self._verifier is None or self._verifier.key != (key or b""):
            self._verifier = agentauth.Verifier(key)
        self._verifier.verify(method, path, headers, body)

    # ------------------------------------------------------------------ helpers

    def _engine(self) -> Engine:
        if self.engine is None:
            raise ApiError(503, "service_unavailable", "The Docker engine is not available to the local cloud.")
        return self.engine

    def _droplet(self, droplet_id: Any) -> Dict[str, Any]:
        droplet = self.store.droplet(droplet_id)
        if droplet is None:
            raise _not_found("droplet %s" % droplet_id)
        return droplet

    def _page(self, items: List[Any], key: str) -> Response:
        try:
            chunk, links = catalog.paginate(items, request.host_url, request.path, request.args.to_dict())
        except ValueError as exc:
            raise ApiError(400, "bad_request", str(exc)) from None
        return _json({key: chunk, "links": links, "meta": {"total": len(items)}})

    def droplet_json(self, d: Dict[str, Any]) -> Dict[str, Any]:
        size = catalog.size_object(d["size"])
        cloud = self._cloud()
        if d["image"]["kind"] == "snapshot":
            snap = self.store.data["snapshots"].get(str(d["image"]["id"]))
            image = self._snapshot_image(snap) if snap else {"id": d["image"]["id"], "name": "deleted snapshot",
                                                             "type": "snapshot", "distribution": "Debian",
                                                             "public": False, "regions": [d["region"]],
                                                             "created_at": d["created_at"], "status": "deleted"}
        else:
            image = catalog.distribution_image(d["image"]["slug"], d["created_at"])
        status = d["status"]
        if status == "active" and self.engine is not None and d.get("container") \
                and self.engine.exists(d["container"]) != "running":
            status = "off"  # killed or stopped behind the API's back: report what runs, like DigitalOcean would
        return {
            "id": d["id"], "name": d["name"], "memory": size["memory"], "vcpus": size["vcpus"], "disk": size["disk"],
            "locked": False, "status": status, "kernel": None, "created_at": d["created_at"], "features": [],
            "backup_ids": [], "next_backup_window": None, "snapshot_ids": list(d["snapshot_ids"]), "image": image,
            "volume_ids": [], "size": size, "size_slug": d["size"],
            "networks": catalog.public_network(d["ip"], cloud["netmask"], cloud["gateway"]),
            "region": catalog.region_object(d["region"]), "tags": list(d["tags"]), "vpc_uuid": self._default_vpc(d["region"]),
        }

    def _cloud(self) -> Dict[str, str]:
        engine = self.engine
        if engine is None:
            return {"netmask": str(self.store.network.netmask), "gateway": str(next(self.store.network.hosts()))}
        return {"netmask": engine.cloud.netmask, "gateway": engine.cloud.gateway}

    def _default_vpc(self, region: str) -> str:
        for vpc in self.store.data["vpcs"].values():
            if vpc["region"] == region and vpc.get("default"):
                return vpc["id"]
        vpc_id = str(uuid.uuid5(uuid.NAMESPACE_URL, "pcloud-local-default-vpc-%s" % region))
        self.store.data["vpcs"][vpc_id] = {
            "id": vpc_id, "urn": "do:vpc:%s" % vpc_id, "name": "default-%s" % region, "region": region,
            "description": "", "ip_range": str(self.store.network), "default": True, "created_at": catalog.now()}
        return vpc_id

    def _snapshot_image(self, snap: Dict[str, Any]) -> Dict[str, Any]:
        return {"id": int(snap["id"]), "name": snap["name"], "distribution": "Debian", "slug": None, "public": False,
                "regions": list(snap["regions"]), "created_at": snap["created_at"], "type": "snapshot",
                "min_disk_size": snap["min_disk_size"], "size_gigabytes": snap["size_gigabytes"],
                "description": "", "tags": [], "status": "available", "error_message": ""}

    def _action(self, kind: str, droplet: Optional[Dict[str, Any]], status: str = "completed") -> Dict[str, Any]:
        action_id = self.store.new_id()
        stamp = catalog.now()
        region = droplet["region"] if droplet else DEFAULT_REGION
        action = {"id": action_id, "status": status, "type": kind, "started_at": stamp,
                  "completed_at": stamp if status == "completed" else None,
                  "resource_id": droplet["id"] if droplet else None, "resource_type": "droplet" if droplet else "backend",
                  "region": catalog.region_object(region), "region_slug": region}
        self.store.data["actions"][str(action_id)] = action
        return action

    def _tag_members(self) -> Dict[str, List[int]]:
        members: Dict[str, List[int]] = {}
        for d in self.store.data["droplets"].values():
            for tag in d["tags"]:
                members.setdefault(tag, []).append(d["id"])
        return members

    def reapply_firewalls(self, droplets: Optional[Iterable[Dict[str, Any]]] = None) -> None:
        """Re-render and load the iptables rules of the given (default: all running) droplets."""
        if self.engine is None:
            return
        all_droplets = self.store.data["droplets"].values()
        ips = {d["id"]: d["ip"] for d in all_droplets}
        members = self._tag_members()
        fws = list(self.store.data["firewalls"].values())
        for d in list(droplets if droplets is not None else all_droplets):
            if d["status"] != "active":
                continue
            rules = firewall.ruleset(firewall.firewalls_for(d["id"], d["tags"], fws), ips, members)
            if rules != d.get("firewall_rules"):
                self.engine.apply_firewall(d["container"], rules)
                d["firewall_rules"] = rules

    # ------------------------------------------------------------------ the recovery hook (pcloud's own)

    def recover_hook(self) -> Response:
        """``POST /pcloud/v1/recover {"droplet", "incident", "reported_by"}``: the health agent that leads a
        confirmed failure asks the control node to replace the droplet; one recovery per incident. The request is
        signed with the fleet key (``agentauth``), so the agents need no API token for it."""
        if self.recover is None:
            raise ApiError(503, "service_unavailable", "No recovery runner is configured for this local cloud.")
        body = request.get_json(silent=True) or {}
        droplet, incident = body.get("droplet"), body.get("incident")
        if not isinstance(droplet, str) or not DROPLET_NAME.match(droplet):
            raise ApiError(422, "unprocessable_entity", "droplet must be a droplet name")
        if not isinstance(incident, str) or not INCIDENT.match(incident):
            raise ApiError(422, "unprocessable_entity", "incident must be an incident id")
        if not any(d["name"] == droplet for d in self.store.data["droplets"].values()):
            raise ApiError(404, "not_found", "no droplet %s" % droplet)
        state = self.recover(droplet, incident, str(body.get("reported_by") or "unknown"), bool(body.get("drained")))
        return _json({"incident": incident, "droplet": droplet, "status": state}, 202)

    # ------------------------------------------------------------------ account and keys

    def account(self) -> Response:
        return _json({"account": {"droplet_limit": 200, "floating_ip_limit": 0, "email": "owner@pcloud.local",
                                  "name": "pcloud local", "uuid": str(uuid.uuid5(uuid.NAMESPACE_URL, "pcloud-local")),
                                  "email_verified": True, "status": "active", "status_message": ""}})

    def _key(self, ident: str) -> Dict[str, Any]:
        for key in self.store.data["ssh_keys"].values():
            if str(key["id"]) == ident or key["fingerprint"] == ident:
                return key
        raise _not_found("ssh key %s" % ident)

    def list_keys(self) -> Response:
        return self._page(sorted(self.store.data["ssh_keys"].values(), key=lambda k: k["id"]), "ssh_keys")

    def create_key(self) -> Response:
        body = _body()
        name, public_key = body.get("name"), body.get("public_key")
        if not isinstance(name, str) or not name or not isinstance(public_key, str):
            raise _unprocessable("name and public_key are required.")
        try:
            fp = catalog.fingerprint(public_key)
        except (ValueError, TypeError):
            raise _unprocessable("public_key is not a valid OpenSSH public key.") from None
        if any(k["fingerprint"] == fp for k in self.store.data["ssh_keys"].values()):
            raise _unprocessable("SSH Key is already in use on your account.")
        key = {"id": self.store.new_id(), "fingerprint": fp, "public_key": public_key.strip(), "name": name}
        self.store.data["ssh_keys"][str(key["id"])] = key
        return _json({"ssh_key": key}, 201)

    def get_key(self, ident: str) -> Response:
        return _json({"ssh_key": self._key(ident)})

    def update_key(self, ident: str) -> Response:
        key = self._key(ident)
        name = _body().get("name")
        if isinstance(name, str) and name:
            key["name"] = name
        return _json({"ssh_key": key})

    def delete_key(self, ident: str) -> Response:
        key = self._key(ident)
        del self.store.data["ssh_keys"][str(key["id"])]
        return _empty()

    # ------------------------------------------------------------------ droplets

    def list_droplets(self) -> Response:
        items = sorted(self.store.data["droplets"].values(), key=lambda d: d["id"])
        tag = request.args.get("tag_name")
        name = request.args.get("name")
        if tag:
            items = [d for d in items if tag in d["tags"]]
        if name:
            items = [d for d in items if d["name"] == name]
        return self._page([self.droplet_json(d) for d in items], "droplets")

    def create_droplets(self) -> Response:
        body = _body()
        names = body.get("names") if body.get("names") is not None else [body.get("name")]
        if not isinstance(names, list) or not names or len(names) > 10:
            raise _unprocessable("name (or names, at most 10) is required.")
        for name in names:
            if not isinstance(name, str) or not DROPLET_NAME_RE.match(name):
                raise _unprocessable("Droplet name %r is invalid: use letters, digits, '.' and '-'." % (name,))
        size = body.get("size")
        if size not in catalog.SIZES:
            raise _unprocessable("You specified an invalid size for Droplet creation: %r." % (size,))
        region = body.get("region") or DEFAULT_REGION
        if region not in catalog.REGIONS:
            raise _unprocessable("You specified an invalid region for Droplet creation: %r." % (region,))
        try:
            kind, snapshot_id = catalog.parse_image(body.get("image"))
        except ValueError as exc:
            raise _unprocessable(str(exc)) from None
        image_ref, seed_volume = self._image_ref(kind, snapshot_id)
        keys = [self._key(str(k)) for k in _list(body.get("ssh_keys"))]
        try:  # cloud-init user_data: only its ssh_keys (the host keys) are applied
            host_keys, user_data_digest = host_key_files(body.get("user_data"))
        except ValueError as exc:
            raise _unprocessable(str(exc)) from None
        tags = [str(t) for t in _list(body.get("tags"))]
        for tag in tags:
            if not TAG_RE.match(tag):
                raise _unprocessable("Tag %r is invalid." % tag)
        authorized = "".join("%s\n" % k["public_key"] for k in keys)
        created = []
        for name in names:
            droplet_id = self.store.new_id()
            record = {"id": droplet_id, "name": name, "size": size, "region": region, "tags": list(dict.fromkeys(tags)),
                      "status": "new", "created_at": catalog.now(), "snapshot_ids": [], "ip": self.store.free_ip(),
                      "image": {"kind": kind, "id": snapshot_id, "slug": body.get("image") if kind != "snapshot" else None},
                      "container": None, "user_data_sha256": user_data_digest}  # never the user_data itself
            self.store.data["droplets"][str(droplet_id)] = record
            for tag in record["tags"]:
                if tag not in self.store.data["tags"]:
                    self.store.data["tags"].append(tag)
            try:
                record["container"] = self._engine().create(droplet_id, name, size, record["ip"], image_ref, authorized,
                                                            host_keys, seed_volume=seed_volume)
            except EngineError as exc:
                record["status"] = "off"
                self.store.save()
                raise ApiError(500, "server_error", "Droplet %s could not be started: %s" % (name, exc)) from None
            created.append(record)
        answer = [dict(self.droplet_json(r), status="new") for r in created]
        for record in created:
            record["status"] = "active"
        self.reapply_firewalls()
        if body.get("names") is not None:
            return _json({"droplets": answer, "links": {"actions": []}}, 202)
        return _json({"droplet": answer[0], "links": {"actions": []}}, 202)

    def _image_ref(self, kind: str, snapshot_id: Optional[int]) -> Tuple[str, str]:
        """(container image, seed of the engine volume) of a droplet made from ``kind``."""
        if kind != "snapshot":
            return DROPLET_IMAGE, TEMPLATE_VOLUME
        snap = self.store.data["snapshots"].get(str(snapshot_id))
        if snap is None:
            raise _unprocessable("Image %s does not exist." % snapshot_id)
        return snap["image"], snap.get("volume") or TEMPLATE_VOLUME

    def get_droplet(self, droplet_id: int) -> Response:
        return _json({"droplet": self.droplet_json(self._droplet(droplet_id))})

    def _destroy(self, droplet: Dict[str, Any]) -> None:
        if droplet.get("container") and self.engine is not None:
            self.engine.delete(droplet["container"])
        del self.store.data["droplets"][str(droplet["id"])]
        for fw in self.store.data["firewalls"].values():
            if droplet["id"] in fw["droplet_ids"]:
                fw["droplet_ids"].remove(droplet["id"])

    def delete_droplet(self, droplet_id: int) -> Response:
        self._destroy(self._droplet(droplet_id))
        self.reapply_firewalls()
        return _empty()

    def delete_droplets_by_tag(self) -> Response:
        tag = request.args.get("tag_name")
        if not tag:
            raise ApiError(400, "bad_request", "tag_name is required to delete Droplets in bulk.")
        for droplet in [d for d in self.store.data["droplets"].values() if tag in d["tags"]]:
            self._destroy(droplet)
        self.reapply_firewalls()
        return _empty()

    def droplet_snapshots(self, droplet_id: int) -> Response:
        droplet = self._droplet(droplet_id)
        snaps = [self.store.data["snapshots"][str(s)] for s in droplet["snapshot_ids"]
                 if str(s) in self.store.data["snapshots"]]
        items = [{"id": int(s["id"]), "name": s["name"], "created_at": s["created_at"], "regions": s["regions"],
                  "min_disk_size": s["min_disk_size"], "size_gigabytes": s["size_gigabytes"], "type": "snapshot"}
                 for s in snaps]
        return self._page(items, "snapshots")

    # ------------------------------------------------------------------ actions

    def droplet_action(self, droplet_id: int) -> Response:
        droplet = self._droplet(droplet_id)
        body = _body()
        kind = body.get("type")
        engine = self._engine()
        if kind == "power_on":
            if droplet["status"] != "active":
                engine.power_on(droplet["container"], droplet["ip"])
                droplet["status"] = "active"
                self.reapply_firewalls([droplet])
        elif kind in ("power_off", "shutdown"):
            if droplet["status"] == "active":
                engine.power_off(droplet["container"], graceful=kind == "shutdown")
                droplet["status"] = "off"
                droplet.pop("firewall_rules", None)
        elif kind in ("reboot", "power_cycle"):
            engine.reboot(droplet["container"], droplet["ip"])
            droplet["status"] = "active"
            droplet.pop("firewall_rules", None)
            self.reapply_firewalls([droplet])
        elif kind == "resize":
            size = body.get("size")
            if size not in catalog.SIZES:
                raise _unprocessable("You specified an invalid size: %r." % (size,))
            if droplet["status"] != "off":
                raise _unprocessable("Droplet must be powered off before it can be resized.")
            engine.resize(droplet["container"], size)
            droplet["size"] = size
        elif kind == "snapshot":
            snapshot_id = self.store.new_id()
            made = engine.snapshot(droplet["container"], snapshot_id)
            name = body.get("name") or "%s-%s" % (droplet["name"], snapshot_id)
            self.store.data["snapshots"][str(snapshot_id)] = {
                "id": str(snapshot_id), "name": str(name), "created_at": catalog.now(), "regions": [droplet["region"]],
                "resource_id": str(droplet["id"]), "resource_type": "droplet",
                "min_disk_size": catalog.size_object(droplet["size"])["disk"],
                "size_gigabytes": made["size_gigabytes"], "tags": [], "image": made["image"],
                "volume": made["volume"]}
            droplet["snapshot_ids"].append(snapshot_id)
        elif kind == "rebuild":
            raise _unprocessable("rebuild is not supported by the local cloud; delete and create the Droplet.")
        else:
            raise _unprocessable("Unknown action type %r." % (kind,))
        return _json({"action": self._action(kind, droplet)}, 201)

    def _find_action(self, action_id: int) -> Dict[str, Any]:
        action = self.store.data["actions"].get(str(action_id))
        if action is None:
            raise _not_found("action %s" % action_id)
        return action

    def get_droplet_action(self, droplet_id: int, action_id: int) -> Response:
        self._droplet(droplet_id)
        action = self._find_action(action_id)
        if action["resource_id"] != droplet_id:
            raise _not_found("action %s" % action_id)
        return _json({"action": action})

    def list_droplet_actions(self, droplet_id: int) -> Response:
        self._droplet(droplet_id)
        items = [a for a in self.store.data["actions"].values() if a["resource_id"] == droplet_id]
        return self._page(sorted(items, key=lambda a: a["id"]), "actions")

    def get_action(self, action_id: int) -> Response:
        return _json({"action": self._find_action(action_id)})

    def list_actions(self) -> Response:
        return self._page(sorted(self.store.data["actions"].values(), key=lambda a: a["id"]), "actions")

    # ------------------------------------------------------------------ snapshots and images

    @staticmethod
    def _snapshot_json(snap: Dict[str, Any]) -> Dict[str, Any]:
        return {k: snap[k] for k in ("id", "name", "created_at", "regions", "resource_id", "resource_type",
                                      "min_disk_size", "size_gigabytes", "tags")}

    def list_snapshots(self) -> Response:
        kind = request.args.get("resource_type")
        items = [s for s in sorted(self.store.data["snapshots"].values(), key=lambda s: int(s["id"]))
                 if kind in (None, "", s["resource_type"])]
        return self._page([self._snapshot_json(s) for s in items], "snapshots")

    def _snapshot(self, snapshot_id: str) -> Dict[str, Any]:
        snap = self.store.data["snapshots"].get(str(snapshot_id))
        if snap is None:
            raise _not_found("snapshot %s" % snapshot_id)
        return snap

    def get_snapshot(self, snapshot_id: str) -> Response:
        return _json({"snapshot": self._snapshot_json(self._snapshot(snapshot_id))})

    def delete_snapshot(self, snapshot_id: str) -> Response:
        snap = self._snapshot(snapshot_id)
        if self.engine is not None:
            self.engine.remove_snapshot(snap)
        del self.store.data["snapshots"][str(snapshot_id)]
        droplet = self.store.droplet(snap["resource_id"])
        if droplet and int(snapshot_id) in droplet["snapshot_ids"]:
            droplet["snapshot_ids"].remove(int(snapshot_id))
        return _empty()

    def list_images(self) -> Response:
        kind = request.args.get("type")
        stamp = "2026-01-01T00:00:00Z"
        items = [catalog.distribution_image(slug, stamp) for slug in sorted(catalog.DISTRIBUTIONS)]
        items += [self._snapshot_image(s) for s in sorted(self.store.data["snapshots"].values(), key=lambda s: int(s["id"]))]
        if kind == "distribution":
            items = [i for i in items if i["type"] == "base"]
        elif kind:
            items = [i for i in items if i["type"] == kind]
        if request.args.get("private") == "true":
            items = [i for i in items if not i["public"]]
        return self._page(items, "images")

    def get_image(self, ident: str) -> Response:
        if ident in catalog.DISTRIBUTIONS:
            return _json({"image": catalog.distribution_image(ident, "2026-01-01T00:00:00Z")})
        for slug, (image_id, _distro, _version) in catalog.DISTRIBUTIONS.items():
            if ident == str(image_id):
                return _json({"image": catalog.distribution_image(slug, "2026-01-01T00:00:00Z")})
        return _json({"image": self._snapshot_image(self._snapshot(ident))})

    # ------------------------------------------------------------------ firewalls

    def _firewall(self, firewall_id: str) -> Dict[str, Any]:
        fw = self.store.data["firewalls"].get(firewall_id)
        if fw is None:
            raise _not_found("firewall %s" % firewall_id)
        return fw

    @staticmethod
    def _target(value: Any) -> Dict[str, List[Any]]:
        value = value if isinstance(value, dict) else {}
        try:
            ids = [int(i) for i in _list(value.get("droplet_ids"))]
        except (TypeError, ValueError):
            raise _unprocessable("droplet_ids must be Droplet ids.") from None
        return {"addresses": [str(a) for a in _list(value.get("addresses"))], "droplet_ids": ids,
                "load_balancer_uids": [str(u) for u in _list(value.get("load_balancer_uids"))],
                "tags": [str(t) for t in _list(value.get("tags"))]}

    def _rules(self, rules: Any, direction: str, key: str) -> List[Dict[str, Any]]:
        out = []
        for rule in _list(rules):
            if not isinstance(rule, dict):
                raise _unprocessable("%s rules must be objects." % direction)
            protocol = rule.get("protocol") or "tcp"
            if protocol not in ("tcp", "udp", "icmp"):
                raise _unprocessable("Invalid protocol %r." % protocol)
            ports = str(rule.get("ports", "0"))
            if not re.fullmatch(r"([0-9]{1,5}(-[0-9]{1,5})?|all)", ports):
                raise _unprocessable("Invalid ports %r." % ports)
            target = self._target(rule.get(key))
            for address in target["addresses"]:
                try:
                    ipaddress.ip_network(address, strict=False)
                except ValueError:
                    raise _unprocessable("Invalid address %r." % address) from None
            out.append({"protocol": protocol, "ports": ports, key: target})
        return out

    def _firewall_from_body(self, body: Dict[str, Any], fw: Dict[str, Any]) -> Dict[str, Any]:
        name = body.get("name")
        if not isinstance(name, str) or not FIREWALL_NAME_RE.match(name):
            raise _unprocessable("Firewall name %r is invalid." % (name,))
        try:
            droplet_ids = [int(i) for i in _list(body.get("droplet_ids"))]
        except (TypeError, ValueError):
            raise _unprocessable("droplet_ids must be Droplet ids.") from None
        for droplet_id in droplet_ids:
            self._droplet(droplet_id)
        fw.update(name=name, droplet_ids=droplet_ids, tags=[str(t) for t in _list(body.get("tags"))],
                  inbound_rules=self._rules(body.get("inbound_rules"), "inbound", "sources"),
                  outbound_rules=self._rules(body.get("outbound_rules"), "outbound", "destinations"))
        return fw

    @staticmethod
    def _firewall_json(fw: Dict[str, Any]) -> Dict[str, Any]:
        return {k: fw[k] for k in ("id", "status", "created_at", "pending_changes", "name", "droplet_ids", "tags",
                                   "inbound_rules", "outbound_rules")}

    def list_firewalls(self) -> Response:
        items = sorted(self.store.data["firewalls"].values(), key=lambda f: f["created_at"] + f["id"])
        return self._page([self._firewall_json(f) for f in items], "firewalls")

    def create_firewall(self) -> Response:
        body = _body()
        if any(f["name"] == body.get("name") for f in self.store.data["firewalls"].values()):
            raise _unprocessable("A firewall named %r already exists." % body.get("name"))
        fw = {"id": str(uuid.uuid4()), "status": "succeeded", "created_at": catalog.now(), "pending_changes": []}
        self._firewall_from_body(body, fw)
        self.store.data["firewalls"][fw["id"]] = fw
        self.reapply_firewalls()
        return _json({"firewall": self._firewall_json(fw)}, 202)

    def get_firewall(self, firewall_id: str) -> Response:
        return _json({"firewall": self._firewall_json(self._firewall(firewall_id))})

    def update_firewall(self, firewall_id: str) -> Response:
        fw = self._firewall(firewall_id)
        self._firewall_from_body(_body(), fw)
        self.reapply_firewalls()
        return _json({"firewall": self._firewall_json(fw)})

    def delete_firewall(self, firewall_id: str) -> Response:
        self._firewall(firewall_id)
        del self.store.data["firewalls"][firewall_id]
        self.reapply_firewalls()
        return _empty()

    def firewall_droplets(self, firewall_id: str, add: bool) -> Response:
        fw = self._firewall(firewall_id)
        try:
            ids = [int(i) for i in _list(_body().get("droplet_ids"))]
        except (TypeError, ValueError):
            raise _unprocessable("droplet_ids must be Droplet ids.") from None
        for droplet_id in ids:
            self._droplet(droplet_id)
            if add and droplet_id not in fw["droplet_ids"]:
                fw["droplet_ids"].append(droplet_id)
            if not add and droplet_id in fw["droplet_ids"]:
                fw["droplet_ids"].remove(droplet_id)
        self.reapply_firewalls()
        return _empty()

    def firewall_tags(self, firewall_id: str, add: bool) -> Response:
        fw = self._firewall(firewall_id)
        for tag in [str(t) for t in _list(_body().get("tags"))]:
            if add and tag not in fw["tags"]:
                fw["tags"].append(tag)
            if not add and tag in fw["tags"]:
                fw["tags"].remove(tag)
        self.reapply_firewalls()
        return _empty()

    # ------------------------------------------------------------------ tags

    def _tag_json(self, name: str) -> Dict[str, Any]:
        ids = self._tag_members().get(name, [])
        last = "%sv2/droplets/%d" % (request.host_url, ids[-1]) if ids else ""
        droplets = {"count": len(ids), "last_tagged_uri": last} if ids else {"count": 0}
        return {"name": name, "resources": {"count": len(ids), "last_tagged_uri": last, "droplets": droplets}}

    def list_tags(self) -> Response:
        return self._page([self._tag_json(t) for t in sorted(self.store.data["tags"])], "tags")

    def create_tag(self) -> Response:
        name = _body().get("name")
        if not isinstance(name, str) or not TAG_RE.match(name):
            raise _unprocessable("Tag name %r is invalid." % (name,))
        if name in self.store.data["tags"]:
            raise _unprocessable("Tag %r already exists." % name)
        self.store.data["tags"].append(name)
        return _json({"tag": self._tag_json(name)}, 201)

    def _existing_tag(self, name: str) -> str:
        if name not in self.store.data["tags"]:
            raise _not_found("tag %s" % name)
        return name

    def get_tag(self, name: str) -> Response:
        return _json({"tag": self._tag_json(self._existing_tag(name))})

    def delete_tag(self, name: str) -> Response:
        self._existing_tag(name)
        self.store.data["tags"].remove(name)
        for droplet in self.store.data["droplets"].values():
            if name in droplet["tags"]:
                droplet["tags"].remove(name)
        self.reapply_firewalls()
        return _empty()

    def tag_resources(self, name: str, add: bool) -> Response:
        self._existing_tag(name)
        for resource in _list(_body().get("resources")):
            if not isinstance(resource, dict) or resource.get("resource_type", "droplet") != "droplet":
                raise _unprocessable("Only droplet resources can be tagged here.")
            droplet = self._droplet(resource.get("resource_id"))
            if add and name not in droplet["tags"]:
                droplet["tags"].append(name)
            if not add and name in droplet["tags"]:
                droplet["tags"].remove(name)
        self.reapply_firewalls()
        return _empty()

    # ------------------------------------------------------------------ vpcs, sizes, regions

    def _vpc(self, vpc_id: str) -> Dict[str, Any]:
        vpc = self.store.data["vpcs"].get(vpc_id)
        if vpc is None:
            raise _not_found("vpc %s" % vpc_id)
        return vpc

    def list_vpcs(self) -> Response:
        self._default_vpc(DEFAULT_REGION)
        return self._page(sorted(self.store.data["vpcs"].values(), key=lambda v: v["created_at"] + v["id"]), "vpcs")

    def create_vpc(self) -> Response:
        body = _body()
        name, region = body.get("name"), body.get("region")
        if not isinstance(name, str) or not name or region not in catalog.REGIONS:
            raise _unprocessable("name and a valid region are required.")
        if any(v["name"] == name for v in self.store.data["vpcs"].values()):
            raise _unprocessable("A VPC named %r already exists." % name)
        vpc_id = str(uuid.uuid4())
        vpc = {"id": vpc_id, "urn": "do:vpc:%s" % vpc_id, "name": name, "region": region,
               "description": str(body.get("description") or ""), "ip_range": str(body.get("ip_range") or "10.10.10.0/24"),
               "default": False, "created_at": catalog.now()}
        self.store.data["vpcs"][vpc_id] = vpc
        return _json({"vpc": vpc}, 201)

    def get_vpc(self, vpc_id: str) -> Response:
        return _json({"vpc": self._vpc(vpc_id)})

    def update_vpc(self, vpc_id: str) -> Response:
        vpc = self._vpc(vpc_id)
        body = _body()
        for key in ("name", "description"):
            if isinstance(body.get(key), str):
                vpc[key] = body[key]
        if body.get("default") is True:
            vpc["default"] = True
        return _json({"vpc": vpc})

    def delete_vpc(self, vpc_id: str) -> Response:
        vpc = self._vpc(vpc_id)
        if vpc.get("default"):
            raise ApiError(403, "forbidden", "The default VPC cannot be deleted.")
        del self.store.data["vpcs"][vpc_id]
        return _empty()

    def list_sizes(self) -> Response:
        return self._page([catalog.size_object(s) for s in sorted(catalog.SIZES)], "sizes")

    def list_regions(self) -> Response:
        return self._page([catalog.region_object(r) for r in sorted(catalog.REGIONS)], "regions")


ROUTES: List[Tuple[str, str, str, Dict[str, Any]]] = [
    ("/v2/account", "GET", "account", {}),
    ("/v2/account/keys", "GET", "list_keys", {}),
    ("/v2/account/keys", "POST", "create_key", {}),
    ("/v2/account/keys/<ident>", "GET", "get_key", {}),
    ("/v2/account/keys/<ident>", "PUT", "update_key", {}),
    ("/v2/account/keys/<ident>", "DELETE", "delete_key", {}),
    ("/v2/droplets", "GET", "list_droplets", {}),
    ("/v2/droplets", "POST", "create_droplets", {}),
    ("/v2/droplets", "DELETE", "delete_droplets_by_tag", {}),
    ("/v2/droplets/<int:droplet_id>", "GET", "get_droplet", {}),
    ("/v2/droplets/<int:droplet_id>", "DELETE", "delete_droplet", {}),
    ("/v2/droplets/<int:droplet_id>/actions", "POST", "droplet_action", {}),
    ("/v2/droplets/<int:droplet_id>/actions", "GET", "list_droplet_actions", {}),
    ("/v2/droplets/<int:droplet_id>/actions/<int:action_id>", "GET", "get_droplet_action", {}),
    ("/v2/droplets/<int:droplet_id>/snapshots", "GET", "droplet_snapshots", {}),
    ("/v2/actions", "GET", "list_actions", {}),
    ("/v2/actions/<int:action_id>", "GET", "get_action", {}),
    ("/v2/snapshots", "GET", "list_snapshots", {}),
    ("/v2/snapshots/<snapshot_id>", "GET", "get_snapshot", {}),
    ("/v2/snapshots/<snapshot_id>", "DELETE", "delete_snapshot", {}),
    ("/v2/images", "GET", "list_images", {}),
    ("/v2/images/<ident>", "GET", "get_image", {}),
    ("/v2/firewalls", "GET", "list_firewalls", {}),
    ("/v2/firewalls", "POST", "create_firewall", {}),
    ("/v2/firewalls/<firewall_id>", "GET", "get_firewall", {}),
    ("/v2/firewalls/<firewall_id>", "PUT", "update_firewall", {}),
    ("/v2/firewalls/<firewall_id>", "DELETE", "delete_firewall", {}),
    ("/v2/firewalls/<firewall_id>/droplets", "POST", "firewall_droplets", {"add": True}),
    ("/v2/firewalls/<firewall_id>/droplets", "DELETE", "firewall_droplets", {"add": False}),
    ("/v2/firewalls/<firewall_id>/tags", "POST", "firewall_tags", {"add": True}),
    ("/v2/firewalls/<firewall_id>/tags", "DELETE", "firewall_tags", {"add": False}),
    ("/v2/tags", "GET", "list_tags", {}),
    ("/v2/tags", "POST", "create_tag", {}),
    ("/v2/tags/<name>", "GET", "get_tag", {}),
    ("/v2/tags/<name>", "DELETE", "delete_tag", {}),
    ("/v2/tags/<name>/resources", "POST", "tag_resources", {"add": True}),
    ("/v2/tags/<name>/resources", "DELETE", "tag_resources", {"add": False}),
    ("/v2/vpcs", "GET", "list_vpcs", {}),
    ("/v2/vpcs", "POST", "create_vpc", {}),
    ("/v2/vpcs/<vpc_id>", "GET", "get_vpc", {}),
    ("/v2/vpcs/<vpc_id>", "PUT", "update_vpc", {}),
    ("/v2/vpcs/<vpc_id>", "PATCH", "update_vpc", {}),
    ("/v2/vpcs/<vpc_id>", "DELETE", "delete_vpc", {}),
    ("/v2/sizes", "GET", "list_sizes", {}),
    ("/v2/regions", "GET", "list_regions", {}),
    ("/pcloud/v1/recover", "POST", "recover_hook", {}),
]

MUTATING = ("POST", "PUT", "PATCH", "DELETE")
# pcloud's own endpoints that the health agents call, signed with the fleet key
AGENT_PATHS = frozenset(("/pcloud/v1/recover",))
# what a custom-scoped token may do, as DigitalOcean's scopes: scope -> (method, path prefix)
SCOPES: Dict[str, Tuple[Tuple[str, str], ...]] = {"droplet:read": (("GET", "/v2/droplets"),)}


def allowed(scopes: Iterable[str], method: str, path: str) -> bool:
    """May a token with ``scopes`` send ``method path``? Unknown scopes allow nothing."""
    for scope in scopes:
        for verb, prefix in SCOPES.get(scope, ()):
            if method == verb and (path == prefix or path.startswith(prefix + "/")):
                return True
    return False


def create_app(cloud: LocalCloud, response_hook=None) -> Flask:
    app = Flask("pcloud-localcloud")

    def make_view(method_name: str, fixed: Dict[str, Any]):
        def view(**kwargs: Any) -> Response:
            handler = getattr(cloud, method_name)
            with cloud.store:
                try:
                    return handler(**kwargs, **fixed)
                finally:
                    if request.method in MUTATING:
                        cloud.store.save()
        view.__name__ = "%s_%s" % (method_name, "_".join("%s" % v for v in fixed.values()))
        return view

    for rule, method, name, fixed in ROUTES:
        app.add_url_rule(rule, endpoint="%s %s" % (method, rule), view_func=make_view(name, fixed), methods=[method])

    @app.before_request
    def authenticate() -> Optional[Response]:
        raw = request.get_data(cache=True)  # GETs from the modules carry a 4-byte 'null' body: read it
        if request.path in AGENT_PATHS:  # the agents' hook: the fleet key, never an API token
            try:
                cloud.verify_agent(request.method, request.full_path.rstrip("?"), request.headers, raw)
            except agentauth.AgentAuthError as exc:
                return _json({"id": "unauthorized", "message": "Unable to authenticate you: %s." % exc.reason}, 401)
            return None
        header = request.headers.get("Authorization", "")
        given = (header[7:] if header.startswith("Bearer ") else "").encode()
        if hmac.compare_digest(given, cloud.token.encode()):
            return None
        scopes = next((s for t, s in cloud.scoped_tokens.items() if hmac.compare_digest(given, t.encode())), None)
        if scopes is None:
            return _json({"id": "unauthorized", "message": "Unable to authenticate you."}, 401)
        if not allowed(scopes, request.method, request.path):
            return _json({"id": "forbidden", "message": "You do not have access for the attempted action."}, 403)
        return None

    @app.errorhandler(ApiError)
    def api_error(exc: ApiError) -> Response:
        return _json({"id": exc.error_id, "message": exc.message}, exc.status)

    @app.errorhandler(404)
    def not_found(_exc: Any) -> Response:
        return _json({"id": "not_found", "message": "The resource you were accessing could not be found."}, 404)

    @app.errorhandler(405)
    def not_allowed(_exc: Any) -> Response:
        return _json({"id": "method_not_allowed", "message": "Method not allowed on this resource."}, 405)

    @app.errorhandler(EngineError)
    def engine_error(exc: EngineError) -> Response:
        return _json({"id": "server_error", "message": str(exc)}, 500)

    @app.after_request
    def headers(response: Response) -> Response:
        response.headers["ratelimit-limit"] = "5000"
        response.headers["ratelimit-remaining"] = "5000"
        response.headers["ratelimit-reset"] = "0"
        if response_hook is not None:
            response_hook(request, response)
        return response

    return app
