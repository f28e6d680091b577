# -*- coding: utf-8 -*-
# Copyright (c) pcloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from ansible_collections.pcloud.infra.plugins.module_utils import lbconf
from ansible_collections.pcloud.infra.plugins.module_utils.errors import StateError
from ansible_collections.pcloud.infra.plugins.module_utils.topology import lb_upstreams

MEMBERS = {"a-uat-backend": ["10.0.0.3:8100", "10.0.0.31:8100", "10.0.0.4:18100"], "a-uat-frontend": ["10.0.0.3:8101"]}


def served(text):
    """The /lb-status JSON nginx answers with: the map's default value."""
    return json.loads(re.search(r"(?m)^    default '(.*)';$", text).group(1))


@pytest.mark.parametrize("drained, backend, frontend, down", [
    ([], ["10.0.0.3:8100", "10.0.0.31:8100", "10.0.0.4:18100"], ["10.0.0.3:8101"], {}),
    # 10.0.0.31 merely starts like 10.0.0.3: it stays
    (["10.0.0.3"], ["10.0.0.31:8100", "10.0.0.4:18100"], [],
     {"a-uat-backend": ["10.0.0.3:8100"], "a-uat-frontend": ["10.0.0.3:8101"]}),
    (["10.0.0.4", "10.0.0.9"], ["10.0.0.3:8100", "10.0.0.31:8100"], ["10.0.0.3:8101"], {"a-uat-backend": ["10.0.0.4:18100"]}),
])
def test_status_lists_what_nginx_routes_to_and_what_is_down(drained, backend, frontend, down):
    status = lbconf.status(MEMBERS, drained)
    assert status == {"a-uat-backend": backend, "a-uat-frontend": frontend, "drained": down}
    assert served(lbconf.render(MEMBERS, drained)) == status


def test_render_marks_members_down_and_records_its_input():
    text = lbconf.render(MEMBERS, ["10.0.0.3"])
    assert "    server 10.0.0.3:8100 down;\n" in text and "    server 10.0.0.31:8100 max_fails=1 fail_timeout=5s;\n" in text
    assert "upstream a-uat-frontend {\n    server 10.0.0.3:8101 down;\n    keepalive 16;\n}\n" in text
    assert 'map "" $pcloud_lb_status {' in text
    assert lbconf.parse(text) == (MEMBERS, ["10.0.0.3"])


@pytest.mark.parametrize("start, ip, drain, drained_after, changed", [
    ([], "10.0.0.3", True, ["10.0.0.3"], True),
    (["10.0.0.3"], "10.0.0.3", True, ["10.0.0.3"], False),  # already drained
    (["10.0.0.3"], "10.0.0.4", True, ["10.0.0.3", "10.0.0.4"], True),  # two droplets at once
    (["10.0.0.3", "10.0.0.4"], "10.0.0.3", False, ["10.0.0.4"], True),  # put back one, the other stays
    ([], "10.0.0.3", False, [], False),
])
def test_redrain(start, ip, drain, drained_after, changed):
    new, did = lbconf.redrain(lbconf.render(MEMBERS, start), ip, drained=drain)
    assert did is changed and lbconf.parse(new)[1] == drained_after
    assert new == lbconf.render(MEMBERS, drained_after)


@pytest.mark.parametrize("members, drained, fragment", [
    ({"a-uat-web": ["10.0.0.3:80; include /etc/passwd"]}, [], "not an IPv4 'address:port'"),
    ({"a-uat-web": ["10.0.0.3:80"]}, ["10.0.0.3'"], "not an IPv4 address"),
    ({"a'uat": ["10.0.0.3:80"]}, [], "is not a '{project-env}-{service}' name"),
    ({"drained": ["10.0.0.3:80"]}, [], "is not a '{project-env}-{service}' name"),  # would shadow the status key
    ({"a-uat-web $x": ["10.0.0.3:80"]}, [], "is not a '{project-env}-{service}' name"),
])
def test_nothing_unchecked_reaches_nginx(members, drained, fragment):
    with pytest.raises(ValueError, match=re.escape(fragment)):
        lbconf.render(members, drained)


@pytest.mark.parametrize("text", [
    "", "upstream x {}\n", "# pcloud-lb {not json\n", '# pcloud-lb {"members": [], "drained": []}\n',
    '# pcloud-lb {"members": {"a-uat-web": ["1.2.3.4:5; x"]}, "drained": []}\n',
])
def test_parse_refuses_anything_else(text):
    with pytest.raises(ValueError):
        lbconf.parse(text)


STATE = {
    "droplets": {"pcloud-master": {"role": "master", "ip": "10.0.0.2"}, "a-web1": {"role": "web", "ip": "10.0.0.3"},
                 "a-web2": {"role": "web", "ip": None}},
    "projects": {"a-uat": {"backend": {"type": "web", "port": 8100, "assigned_droplets": ["a-web1"]},
                           "jobs": {"type": "worker", "assigned_droplets": ["a-web1"]}}},
}


def test_lb_upstreams_from_the_state():
    text = lb_upstreams(STATE, live={"a-uat-backend": {"a-web1": 18100}}, drained=["a-web1", "a-web2", "gone"])
    assert served(text) == {"a-uat-backend": [], "drained": {"a-uat-backend": ["10.0.0.3:18100"]}}
    assert lbconf.parse(text) == ({"a-uat-backend": ["10.0.0.3:18100"]}, ["10.0.0.3"])
    with pytest.raises(StateError, match="has no IP address yet"):
        lb_upstreams(dict(STATE, projects={"a-uat": {"web": {"type": "web", "port": 1, "assigned_droplets": ["a-web2"]}}}))


def test_the_role_writes_where_the_agent_drains():
    role_vars = Path(__file__).parents[4] / "roles" / "nginx_lb" / "vars" / "main.yml"
    assert yaml.safe_load(role_vars.read_text())["_nginx_lb_upstreams"] == lbconf.INCLUDE_PATH
