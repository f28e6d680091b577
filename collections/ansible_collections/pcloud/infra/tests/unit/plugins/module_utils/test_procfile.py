# -*- coding: utf-8 -*-
# Copyright (c) pcloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import pytest

from ansible_collections.pcloud.infra.plugins.module_utils import procfile
from ansible_collections.pcloud.infra.plugins.module_utils.errors import PcloudError

MICROBLOG = """# Heroku-style
web: flask db upgrade; flask translate compile; gunicorn microblog:app
worker: rq worker microblog-tasks\r

release: flask db upgrade
"""


def test_web_worker_and_release():
    processes = procfile.parse(MICROBLOG)
    assert processes == {"web": "flask db upgrade; flask translate compile; gunicorn microblog:app",
                         "worker": "rq worker microblog-tasks", "release": "flask db upgrade"}
    services = {s.pop("name"): s for s in procfile.services(processes)}
    assert services["web"] == {"type": "web", "containerfile_path": "Dockerfile", "build_context": ".",
                               "command": processes["web"], "release": "flask db upgrade"}
    assert services["worker"]["type"] == "worker" and "release" not in services["worker"]


def test_a_release_without_web_goes_with_the_first_worker():
    services = procfile.services(procfile.parse("jobs: python jobs.py\nrelease: python migrate.py\n"))
    assert services == [{"name": "jobs", "type": "worker", "containerfile_path": "Dockerfile", "build_context": ".",
                         "command": "python jobs.py", "release": "python migrate.py"}]


@pytest.mark.parametrize("text, where, problem", [
    ("web gunicorn app\n", "Procfile:1: (line)", "expected 'TYPE: COMMAND'"),
    ("web: a\nweb: b\n", "Procfile:2: web", "listed twice"),
    ("web:\n", "Procfile:1: web", "the command is empty"),
    ("Web-1: x\n", "Procfile:1: (process type)", "illegal service name"),
    ("-web: x\n", "Procfile:1: (process type)", "illegal service name"),
    ("web: a\u2028b\n", "Procfile:1: (line)", ""),
    ("web: a\x00b\n", "Procfile:1: (line)", ""),
    ("release: migrate\n", "Procfile:1: (file)", "no process type to run"),
    ("# nothing\n\n", "Procfile:1: (file)", "no process type to run"),
    ("web: " + "x" * 5000 + "\n", "Procfile:1: web", "longer than 4096"),
    ("x" * (70 * 1024), "Procfile:1: (file)", "larger than"),
])
def test_bad_procfiles_name_file_line_and_field(text, where, problem):
    with pytest.raises(PcloudError) as err:
        procfile.parse(text)
    message = str(err.value)
    assert where in message and problem in message, message
