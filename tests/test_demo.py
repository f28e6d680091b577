"""The end of 'make demo' (pcloud.demo): which URLs it prints, and when it calls the fleet healthy."""

from __future__ import annotations

import pytest

from pcloud import demo, example

from .conftest import REPO

OK_BEAT = {"subject": "\u2705 Infrastructure OK - 10:15", "file": "/c/localcloud/mail/new/2"}
DROPLETS = ["hostomatic-web1", "pcloud-master"]


def report(status="ok", missing=(), last_error=None, sent=1.0):
    return {"status": status, "containers": {"missing": list(missing), "running": 3, "expected": 3},
            "disk_used_pct": 40.0, "heartbeat": {"last_sent_at": sent, "last_error": last_error}}


def test_the_urls_are_the_deployed_envs_through_master():
    assert demo.demo_urls("10.199.0.2") == [
        ("uat frontend", "http://10.199.0.2/hostomatic/uat/frontend/"),
        ("uat backend API", "http://10.199.0.2/hostomatic/uat/backend/api/items"),
        ("prod frontend", "http://10.199.0.2/hostomatic/prod/frontend/"),
        ("prod backend API", "http://10.199.0.2/hostomatic/prod/backend/api/items"),
        ("load balancer members", "http://10.199.0.2/lb-status"),
    ]


def test_the_example_declares_exactly_the_envs_the_demo_deploys():
    with open(REPO / "Makefile", encoding="utf-8") as handle:
        deploys = [line.split()[-2] for line in handle if " deploy " in line and line.rstrip().endswith(example.PROJECT)]
    assert tuple(deploys) == example.ENVIRONMENTS


def test_the_newest_heartbeat_counts_not_a_backup_or_other_mail():
    mail = [{"subject": "\u26a0\ufe0f Infrastructure degraded - 10:00", "file": "1"}, OK_BEAT,
            {"subject": "\u26a0\ufe0f Backup Heartbeat - Master may be down - 10:20", "file": "3"},
            {"subject": "pcloud test - the notifications work", "file": "4"}]
    assert demo.heartbeat_mail(mail) is OK_BEAT
    assert demo.heartbeat_mail(mail[2:]) is None


ALL_200 = {"http://m/a": 200, "http://m/b": 200}


@pytest.mark.parametrize("reports, answers, beat, maildir, expected", [
    ({"pcloud-master": report(), "hostomatic-web1": report()}, ALL_200, OK_BEAT, "/c/mail", []),
    # the seeds' failure: a declared project-env that was never deployed
    ({"pcloud-master": report("degraded", ["hostomatic-test-backend", "digitalpixo-prod-frontend"]),
      "hostomatic-web1": report()}, ALL_200, OK_BEAT, "/c/mail",
     ["pcloud-master: degraded (missing: hostomatic-test-backend, digitalpixo-prod-frontend; disk 40.0%)"]),
    ({"pcloud-master": report(), "hostomatic-web1": None}, ALL_200, OK_BEAT, "/c/mail",
     ["hostomatic-web1: its health agent does not answer on port 8080"]),
    # the seeds' first URL
    ({"pcloud-master": report(), "hostomatic-web1": report()}, {"http://m/a": 404, "http://m/b": "nothing (refused)"},
     OK_BEAT, "/c/mail", ["http://m/a answers 404", "http://m/b answers nothing (refused)"]),
    # the seeds' heartbeat: no mail server
    ({"pcloud-master": report(last_error="ConnectionRefusedError: [Errno 111] Connection refused"),
      "hostomatic-web1": report()}, ALL_200, None, "/c/mail",
     ["master's heartbeat mail failed: ConnectionRefusedError: [Errno 111] Connection refused",
      "no heartbeat mail in /c/mail yet"]),
    ({"pcloud-master": report(), "hostomatic-web1": report()}, ALL_200,
     {"subject": "\u26a0\ufe0f Infrastructure degraded - 10:00", "file": "/c/mail/new/1"}, "/c/mail",
     ["the heartbeat mail says '\u26a0\ufe0f Infrastructure degraded - 10:00' (/c/mail/new/1)"]),
    # no mail catcher (mail goes to a real server): master's own account of the heartbeat
    ({"pcloud-master": report(), "hostomatic-web1": report()}, ALL_200, None, None, []),
    ({"pcloud-master": report(sent=None), "hostomatic-web1": report()}, ALL_200, None, None,
     ["master has sent no heartbeat mail yet"]),
])
def test_problems(reports, answers, beat, maildir, expected):
    assert demo.problems(DROPLETS, reports, answers, beat, maildir) == expected


def test_init_example_declares_what_the_demo_deploys_and_nothing_else(tmp_path, capsys):
    from pcloud import cli

    config = tmp_path / "cfg"
    assert cli.main(["--config-dir", str(config), "init", "--example"]) == 0
    assert "wrote  %s" % (config / "projects.csv") in capsys.readouterr().out
    spec, state = cli.load_plan(str(config))
    assert sorted(state["projects"]) == ["hostomatic-prod", "hostomatic-uat"]
    assert all(spec.deploy.repo_url(p.name) for p in spec.infra.projects)  # each declared project can be deployed
    assert sorted(state["droplets"]) == ["hostomatic-web1", "hostomatic-web2", "pcloud-master"]
