# -*- coding: utf-8 -*-
# Copyright (c) pcloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import pytest

from ansible_collections.pcloud.infra.plugins.module_utils import incident_store
from ansible_collections.pcloud.infra.plugins.module_utils.errors import SpecError


def test_record_updates_by_id(tmp_path):
    config = str(tmp_path)
    assert incident_store.load(config) == []
    incident_store.record(config, {"id": "web1-7", "status": "recovering"})
    incident_store.record(config, {"id": "web2-8", "status": "recovering"})
    incident_store.record(config, {"id": "web1-7", "status": "recovered", "seconds": 61.0})
    incidents = incident_store.load(config)
    assert [(i["id"], i["status"]) for i in incidents] == [("web1-7", "recovered"), ("web2-8", "recovering")]
    assert incident_store.find(incidents, "web1-7")["seconds"] == 61.0 and incident_store.find(incidents, "x") is None


def test_a_broken_log_names_the_file(tmp_path):
    (tmp_path / "incidents.json").write_text("{not json")
    with pytest.raises(SpecError) as err:
        incident_store.load(str(tmp_path))
    assert "incidents.json" in str(err.value) and "incident log is not valid JSON" in str(err.value)
    (tmp_path / "incidents.json").write_text("{}")
    with pytest.raises(SpecError, match="incident log must be a list"):
        incident_store.load(str(tmp_path))
