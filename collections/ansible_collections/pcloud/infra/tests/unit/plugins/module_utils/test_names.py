# -*- coding: utf-8 -*-
# Copyright (c) pcloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Git URLs, branches and url_pattern: what may reach a git command line."""

from __future__ import annotations

import pytest

from ansible_collections.pcloud.infra.plugins.module_utils import names


@pytest.mark.parametrize("url", [
    "https://github.com/org/repo.git", "https://git.example.org:8443/team/repo", "ssh://git@github.com/org/repo.git",
    "ssh://git@[::1]:2222/srv/repo.git", "ssh://github.com/org/repo", "git@github.com:org/repo.git",
    "github.com:org/repo.git", "file:///srv/git/repo.git", "https://[2001:db8::1]/repo.git",
])
def test_good_git_urls(url):
    assert names.git_url_problem(url) is None


@pytest.mark.parametrize("url, why", [
    ("--upload-pack=touch /tmp/x", "starts with '-'"),
    ("-oProxyCommand=x@host:repo", "starts with '-'"),
    ("ext::sh -c touch% /tmp/x", "whitespace"),
    ("ext::sh", "remote helper transport"),
    ("fd::3", "remote helper transport"),
    ("ssh://-oProxyCommand=touch/repo", "illegal host"),
    ("ssh://[-oProxyCommand=x]/r", "illegal host part"),
    ("https://[::1/x", "illegal host part"),
    ("ssh://git@host:0/repo", "port must be from 1 to 65535"),
    ("ssh://git@host:99999/repo", "port must be from 1 to 65535"),
    ("https://user:secret@github.com/org/repo.git", "embeds credentials"),
    ("https://ghp_token@github.com/org/repo.git", "embeds credentials"),
    ("ssh://git:pw@github.com/org/repo.git", "embeds credentials"),
    ("http://github.com/org/repo.git", "scheme 'http' is not allowed"),
    ("git://github.com/org/repo.git", "scheme 'git' is not allowed"),
    ("https://github.com/org/../../etc", "'..'"),
    ("https://github.com/org/%2e%2e/x", "'..'"),
    ("git@github.com:-repo", "expected https://host/path"),
    ("git@github.com:org/../x", "'..'"),
    ("https://github.com/org/repo?x=1", "query or fragment"),
    ("file://host/srv/repo", "file:///absolute/path"),
    ("https://github.com/org/repo\n", "control character"),
    ("https://gith\u00fcb.com/org/repo", "non-ASCII"),
])
def test_bad_git_urls(url, why):
    problem = names.git_url_problem(url)
    assert problem is not None and why in problem, problem
    assert "secret" not in problem and "ghp_token" not in problem and ":pw@" not in problem


@pytest.mark.parametrize("branch", ["main", "feature/x-1", "release-1.2", "v1.0.0-uat-20261201-0940"])
def test_good_branches(branch):
    assert names.branch_problem(branch) is None


@pytest.mark.parametrize("branch", ["-x", "--upload-pack=x", "a..b", "a b", "a~1", "a^", "a:b", "a?", "a*", "a[",
                                    "a\\b", "x.lock", "a/.b", "a//b", "a/", "a.", "@", "a@{1}", "main\n", ""])
def test_bad_branches(branch):
    assert names.branch_problem(branch) is not None


@pytest.mark.parametrize("pattern, ok", [
    ("{base_url}/{project}.git", True),
    ("git@github.com:myorg/{project}.git", True),
    ("{base_url}/{project!r}", False),
    ("{project:>40}", False),
    ("{base_url.__class__}/{project}", False),
    ("{base_url[0]}/{project}", False),
    ("{base_url}/repo.git", False),            # no {project}
    ("-{base_url}/{project}", False),          # the URL it makes starts with '-'
    ("ext::{base_url}/{project}", False),
    ("{base_url}/{project", False),
])
def test_url_pattern(pattern, ok):
    assert (names.url_pattern_problem(pattern) is None) == ok


@pytest.mark.parametrize("path, ok", [("/health", True), ("/api/v1/health", True), ("/h%20x", True),
                                      ("/a/../b", False), ("/%2e%2e/etc", False), ("//evil.com/x", False),
                                      ("/a?b=1", False), ("health", False), ("/a b", False), ("/a;b", False)])
def test_health_check_paths(path, ok):
    assert (names.http_path_problem(path) is None) == ok
