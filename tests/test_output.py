"""The status text: health as the monitors see it, queues, and where the load balancer runs during a master recovery."""

from __future__ import annotations

from pcloud.output import render_status

ROWS = [{"name": "pcloud-master", "role": "master", "size": "s-1vcpu-1gb", "ip": "10.0.0.2", "status": "off",
         "health": "-", "seen_by": {"shop-web1": "down", "shop-web2": "down"}},
        {"name": "shop-web1", "role": "web", "size": "s-1vcpu-1gb", "ip": "10.0.0.3", "status": "active",
         "health": "ok", "seen_by": {"shop-web2": "ok"}}]


def test_status_names_the_standby_load_balancer_and_the_queues():
    text = render_status(ROWS, "config/infrastructure.json", "local", {
        "last_heartbeat": "11:20", "heartbeat_error": None,
        "incidents": [{"id": "pcloud-master-1012", "status": "recovering"}],
        "queues": [{"service": "shop-uat-mail", "queue": "shop-uat-mail", "depth": 4},
                   {"service": "shop-prod-mail", "queue": "shop-prod-mail", "depth": None, "error": "NOAUTH"}],
        "load_balancer": {"droplet": "shop-web1", "ip": "10.0.0.3", "incident": "pcloud-master-1012"}})
    assert "pcloud-master  master  s-1vcpu-1gb  10.0.0.2  off" in text
    assert "shop-web1: down, shop-web2: down" in text
    assert "Worker queues: shop-uat-mail shop-uat-mail: 4, shop-prod-mail shop-prod-mail: ? (NOAUTH)" in text
    assert ("Load balancer: on shop-web1 (http://10.0.0.3/) while pcloud-master is rebuilt (incident pcloud-master-1012)"
            in text)
    assert "Open incidents: pcloud-master-1012 (recovering)" in text


def test_status_without_monitoring_shows_the_table_only():
    text = render_status(ROWS, "plan", None)
    assert "Provider: none configured" in text and "Worker queues" not in text and "Load balancer" not in text
