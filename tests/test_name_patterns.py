"""Every name pattern in pcloud accepts its example and refuses it with a line ending after it: ``$`` alone would
accept a trailing newline (``shop\\n`` reached nginx as ``upstream shop\\n-prod-backend``)."""

from __future__ import annotations

import pytest

from ansible_collections.pcloud.infra.plugins.module_utils import gitrefs, hostkeys, names, notify, releases, snapshots
from ansible_collections.pcloud.infra.plugins.module_utils import spec as specmod
from pcloud import cli
from pcloud.agent import service
from pcloud.localcloud import api

PATTERNS = [
    (names.PROJECT_RE, "shop"), (names.ENV_RE, "prod"), (names.SERVICE_RE, "worker_email"),
    (names.ENV_VAR_RE, "LOG_LEVEL"), (names.DROPLET_RE, "shop-web1"), (names.HTTP_PATH_RE, "/health"),
    (specmod.QUEUE_RE, "shop-prod-jobs"), (notify.ADDRESS_RE, "owner@example.org"), (notify.PHONE_RE, "+441234567890"),
    (notify.ENV_RE, "PCLOUD_SMTP_USER"), (gitrefs.COMMIT_RE, "a" * 40), (gitrefs.TAG_NAME_RE, "v1.0.0"),
    (releases.UAT_TAG_RE, "v1.2.3-uat-20261201-0940"), (releases.VERSION_RE, "1.2.3"),
    (snapshots._NAME, "shop-web1-deploy-20261201-0940"), (cli.TAG_RE, "v1.0.0"), (service.NAME_RE, "shop-web1"),
    (api.TAG_RE, "pcloud"), (api.DROPLET_NAME_RE, "shop-web1"), (api.DROPLET_NAME, "shop-web1"),
    (api.INCIDENT, "shop-web1-12"), (api.FIREWALL_NAME_RE, "pcloud-fleet"), (hostkeys.DROPLET_NAME, "shop-web1"),
]


@pytest.mark.parametrize("pattern, example", PATTERNS, ids=[p.pattern[:40] for p, _ in PATTERNS])
@pytest.mark.parametrize("ending", ["\n", "\r\n", "\u2028", "\x00"])
def test_a_line_ending_after_a_good_name_is_refused(pattern, example, ending):
    assert pattern.match(example) and pattern.fullmatch(example)
    assert not pattern.match(example + ending) and not pattern.fullmatch(example + ending)


@pytest.mark.parametrize("kind, value", [("project", "shop\n"), ("environment", "prod\n"), ("service", "api\n"),
                                         ("secret", "key\n"), ("environment variable", "DB_HOST\n"),
                                         ("droplet", "shop-web1\n"), ("project", "sh\u0663p")])
def test_name_problem_refuses_a_trailing_newline(kind, value):
    assert names.name_problem(kind, value) is not None


@pytest.mark.parametrize("value", ["\u00b2", "\u0663", "\uff12", "1\n", "", "-1", "1 "])
def test_only_ascii_digits_make_a_number(value):
    assert names.ascii_int(value) is None
