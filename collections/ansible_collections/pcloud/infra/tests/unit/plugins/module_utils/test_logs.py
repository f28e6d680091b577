# -*- coding: utf-8 -*-
# Copyright (c) pcloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import shlex

import pytest

from ansible_collections.pcloud.infra.plugins.module_utils import logs
from ansible_collections.pcloud.infra.plugins.module_utils.errors import SpecError

STATE = {"droplets": {"shop-web1": {"ip": "10.9.0.3"}, "shop-web2": {"ip": "10.9.0.4"}, "pcloud-master": {"ip": "10.9.0.2"}},
         "projects": {"shop-uat": {"api": {"type": "web", "assigned_droplets": ["shop-web1", "shop-web2"]},
                                   "database": {"type": "postgres", "assigned_droplets": ["pcloud-master"]}}}}


def test_targets_are_the_droplets_the_service_runs_on():
    assert logs.targets(STATE, "shop", "uat", "api") == [("shop-web1", "10.9.0.3"), ("shop-web2", "10.9.0.4")]
    assert logs.targets(STATE, "shop", "uat", "api", "shop-web2") == [("shop-web2", "10.9.0.4")]


@pytest.mark.parametrize("args, problem", [
    (("shop", "uat", "database"), "has no service database; its services are api"),
    (("shop", "prod", "api"), "no project-env shop-prod; there are shop-uat"),
    (("shop", "uat", "api", "pcloud-master"), "does not run on pcloud-master; it runs on shop-web1, shop-web2"),
    (("shop", "uat", "api;reboot"), "service"),
    (("-shop", "uat", "api"), "project"),
])
def test_bad_requests_name_the_cause(args, problem):
    with pytest.raises(SpecError, match=problem):
        logs.targets(STATE, *args)


def test_the_remote_command_filters_by_labels_and_quotes_them():
    line = logs.remote_command("shop", "uat", "api", 50, True)
    assert "--tail 50 --follow" in line and "--filter label=pcloud.service=api" in line
    assert shlex.split(line)  # a well-formed shell line
    assert "--follow" not in logs.remote_command("shop", "uat", "api", 50, False)
    for bad in (0, -1, True, logs.MAX_LINES + 1):
        with pytest.raises(SpecError, match="--lines"):
            logs.remote_command("shop", "uat", "api", bad, False)


def test_ssh_checks_the_pinned_host_key():
    argv = logs.ssh_argv("/cfg", "shop-web1", "10.9.0.3", "true")
    assert "StrictHostKeyChecking=yes" in argv and "HostKeyAlias=shop-web1" in argv
    assert "UserKnownHostsFile=/cfg/ssh/known_hosts" in argv and argv[-2:] == ["root@10.9.0.3", "true"]
