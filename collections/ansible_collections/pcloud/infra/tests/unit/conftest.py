# -*- coding: utf-8 -*-
# Copyright (c) pcloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shared fixtures: the seed examples (projects.csv, infrastructure.json, deployment_config.json)."""

from __future__ import annotations

import os
import shutil

import pytest

from ansible_collections.pcloud.infra.plugins.module_utils.jsonlines import load_json_text
from ansible_collections.pcloud.infra.plugins.module_utils.spec import (
    Spec,
    load_spec,
    parse_deployment_config,
)
from ansible_collections.pcloud.infra.tests.unit.seed import FIXTURES, fixture_text


@pytest.fixture
def seed_dir(tmp_path):
    """A config dir with the seeds' projects.csv and deployment_config.json."""
    for name in ("projects.csv", "deployment_config.json"):
        shutil.copy(os.path.join(FIXTURES, name), tmp_path / name)
    return tmp_path


@pytest.fixture
def seed_spec(seed_dir) -> Spec:
    return load_spec(str(seed_dir))


@pytest.fixture
def seed_deploy():
    return parse_deployment_config(load_json_text(fixture_text("deployment_config.json"), "deployment_config.json"))
