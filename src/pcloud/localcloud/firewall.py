"""Firewalls enforced with iptables in each droplet's network namespace (pure: builds the ruleset).

The rules live in the ``mangle`` table's PREROUTING chain and only see what arrives on the droplet's network
interface (``eth+``), as a cloud firewall in front of the droplet would: they match the port a packet was sent to
before the droplet's own Docker engine maps a published port to a container (its ``nat`` rules come later), and
loading them never touches the ``filter``/``nat`` chains that engine manages. Traffic between the droplet and its
own containers never passes them."""

from __future__ import annotations

import ipaddress
from typing import Any, Dict, Iterable, List, Mapping

CHAIN = "PCLOUD-FW"
INTERFACE = "eth+"  # the droplet's network interface(s); never lo or the engine's bridges


def _ports(protocol: str, ports: str) -> List[str]:
    if protocol == "icmp" or ports in ("", "0", "all", "1-65535"):
        return []
    if "-" in ports:
        low, high = ports.split("-", 1)
        return ["-m", protocol, "--dport", "%d:%d" % (int(low), int(high))]
    return ["-m", protocol, "--dport", str(int(ports))]


def _sources(sources: Mapping[str, Any], droplet_ips: Mapping[int, str],
             tag_members: Mapping[str, Iterable[int]]) -> List[str]:
    """Source CIDRs of a rule; '' means anywhere. IPv6 sources are ignored (the droplet network is IPv4)."""
    out: List[str] = []
    for address in sources.get("addresses") or ():
        net = ipaddress.ip_network(address, strict=False)
        if net.version != 4:
            continue
        out.append("" if net.prefixlen == 0 else str(net))
    ids = [int(i) for i in sources.get("droplet_ids") or ()]
    for tag in sources.get("tags") or ():
        ids.extend(tag_members.get(tag, ()))
    for droplet_id in sorted(set(ids)):
        if droplet_id in droplet_ips:
            out.append("%s/32" % droplet_ips[droplet_id])
    return sorted(set(out))


def ruleset(firewalls: Iterable[Mapping[str, Any]], droplet_ips: Mapping[int, str],
            tag_members: Mapping[str, Iterable[int]]) -> str:
    """An ``iptables-restore`` document for one droplet; no firewalls means everything is accepted."""
    lines = ["*mangle", ":PREROUTING ACCEPT [0:0]", ":INPUT ACCEPT [0:0]", ":FORWARD ACCEPT [0:0]",
             ":OUTPUT ACCEPT [0:0]", ":POSTROUTING ACCEPT [0:0]", ":%s - [0:0]" % CHAIN]
    firewalls = list(firewalls)
    if firewalls:
        lines += ["-A PREROUTING -i %s -j %s" % (INTERFACE, CHAIN),
                  "-A %s -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT" % CHAIN]
        rules: List[str] = []
        for fw in firewalls:
            for rule in fw.get("inbound_rules") or ():
                protocol = rule.get("protocol") or "tcp"
                match = ["-p", protocol] + _ports(protocol, str(rule.get("ports", "0")))
                for source in _sources(rule.get("sources") or {}, droplet_ips, tag_members):
                    parts = ["-A", CHAIN] + (["-s", source] if source else []) + match + ["-j", "ACCEPT"]
                    rules.append(" ".join(parts))
        lines += sorted(set(rules), key=rules.index)
        lines.append("-A %s -j DROP" % CHAIN)
    lines.append("COMMIT")
    return "\n".join(lines) + "\n"


def firewalls_for(droplet_id: int, droplet_tags: Iterable[str], firewalls: Iterable[Dict[str, Any]]) -> List[Dict[str, Any]]:
    tags = set(droplet_tags)
    return [fw for fw in firewalls if droplet_id in fw.get("droplet_ids", ()) or tags & set(fw.get("tags") or ())]
