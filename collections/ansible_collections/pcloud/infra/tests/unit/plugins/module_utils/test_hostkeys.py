# -*- coding: utf-8 -*-
# Copyright (c) pcloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import os
import shlex
import shutil
import stat
import tempfile
from pathlib import Path

import pytest
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ansible_collections.pcloud.infra.plugins.module_utils import hostkeys
from ansible_collections.pcloud.infra.plugins.module_utils.hostkeys import HostKeyError

KEY_A = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIF/ZrPgaFXv95WPPUWgtlyEpTgdF92zBYCyWexz8Z5iw"
FP_A = "SHA256:E83BnqL42ZHc1JQF/DHgcZHQVvymFazjNYZYKu/OpNg"
KEY_B = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPUvi1+aHv19fSAFqpkZN0WJSItFWfDFjQVhp8fri5L9"
FP_B = "SHA256:N6W9TDoFRHc8WdqH73sU/+ZQXNfAkcSWQCFR9EsuH+M"
KEY_RSA = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQCuDCDKgwFRBFTG6yic/QnkNvjd1lc7HrBZKMpsh+X0"


@pytest.fixture(scope="module")
def pair():
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()
    return private, public


@pytest.mark.parametrize("line, expected", [
    (KEY_A, ("ssh-ed25519", KEY_A.split()[1])),
    (KEY_A + " root@host", ("ssh-ed25519", KEY_A.split()[1])),
    ("  %s  \n" % KEY_B, ("ssh-ed25519", KEY_B.split()[1])),
])
def test_parse_public_key(line, expected):
    assert hostkeys.parse_public_key(line) == expected


@pytest.mark.parametrize("line, reason", [
    ("", "expected 'TYPE BASE64"),
    ("ssh-ed25519", "expected 'TYPE BASE64"),
    ("ssh-ed25519 not*base64", "not base64"),
    ("ssh-rsa " + KEY_A.split()[1], "not a ssh-rsa key"),
])
def test_parse_public_key_rejects(line, reason):
    with pytest.raises(HostKeyError, match=reason):
        hostkeys.parse_public_key(line)


@pytest.mark.parametrize("key, expected", [(KEY_A, FP_A), (KEY_B + " comment", FP_B)])
def test_fingerprint_is_what_ssh_keygen_prints(key, expected):
    assert hostkeys.fingerprint(key) == expected


def test_rendered_cloud_config_is_the_cloud_init_ssh_keys_shape(pair):
    private, public = pair
    text = hostkeys.render_cloud_config(private, public)
    assert text.startswith("#cloud-config\n")
    doc = yaml.safe_load(text)
    public_line = " ".join(public.split()[:2])
    assert doc == {"ssh_deletekeys": True, "ssh_keys": {"ed25519_private": private, "ed25519_public": public_line}}
    # and the local cloud reads back exactly the files cloud-init would write
    assert hostkeys.host_keys_from_user_data(text) == {
        "ssh_host_ed25519_key": private, "ssh_host_ed25519_key.pub": " ".join(public.split()[:2]) + "\n"}


@pytest.mark.parametrize("private, public, reason", [
    ("not a key", None, "armour"),
    ("-----BEGIN OPENSSH PRIVATE KEY-----\nab cd\n-----END OPENSSH PRIVATE KEY-----", None, "not base64"),
    (None, KEY_RSA, "must be ed25519"),
    (None, "ssh-ed25519 !!!", "not base64"),
])
def test_render_cloud_config_rejects_bad_keys(pair, private, public, reason):
    with pytest.raises(HostKeyError, match=reason):
        hostkeys.render_cloud_config(private or pair[0], public or pair[1])


@pytest.mark.parametrize("user_data", [None, "", "#cloud-config\n", "#cloud-config\nruncmd: [touch /x]\n"])
def test_user_data_without_ssh_keys_installs_nothing(user_data):
    assert hostkeys.host_keys_from_user_data(user_data) == {}


def _cc(body):
    return "#cloud-config\n" + body


@pytest.mark.parametrize("user_data, reason", [
    (42, "must be a string"),
    ("#!/bin/sh\ntouch /x\n", "only '#cloud-config'"),
    ("#cloud-config\n" + "#" * (64 * 1024), "64 KiB"),
    (_cc("ssh_keys: [\n"), "not valid cloud-config YAML"),
    (_cc("- a\n- b\n"), "must be a mapping"),
    (_cc("ssh_keys: [a]\n"), "ssh_keys must be a mapping"),
    (_cc("ssh_keys: {dsa_private: x, dsa_public: y}\n"), "unsupported entry 'dsa_private'"),
    (_cc("ssh_keys: {ed25519_public: '%s'}\n" % KEY_A), "needs ssh_keys.ed25519_private"),
    (_cc("ssh_keys: {ed25519_private: 1, ed25519_public: '%s'}\n" % KEY_A), "must be a string"),
    (_cc("ssh_keys: {ed25519_private: nope, ed25519_public: '%s'}\n" % KEY_A), "armour"),
    (_cc("ssh_keys: {rsa_private: '-----BEGIN OPENSSH PRIVATE KEY-----\n\n  AAAA\n\n  -----END OPENSSH PRIVATE KEY-----', "
         "rsa_public: '%s'}\n" % KEY_A), "is a ssh-ed25519 key, not ssh-rsa"),
])
def test_malformed_user_data_is_refused(user_data, reason):
    with pytest.raises(HostKeyError, match=reason):
        hostkeys.host_keys_from_user_data(user_data)


@pytest.mark.parametrize("pins, expected", [
    ([], ""),
    ([("shop-web1", "10.0.0.3", KEY_B + " c"), ("pcloud-master", "10.0.0.2", KEY_A)],
     "pcloud-master,10.0.0.2 %s\nshop-web1,10.0.0.3 %s\n" % (KEY_A, KEY_B)),
    ([("shop-web1", None, KEY_B)], "shop-web1 %s\n" % KEY_B),
])
def test_known_hosts_has_one_line_per_droplet_name_and_address(pins, expected):
    text = hostkeys.render_known_hosts(pins)
    assert text.splitlines()[0].startswith("# pcloud:")
    assert "".join(line + "\n" for line in text.splitlines()[1:]) == expected


@pytest.mark.parametrize("pins, reason", [
    ([("a", "10.0.0.2", KEY_A), ("a", "10.0.0.3", KEY_B)], "pinned twice"),
    ([("bad name", "10.0.0.2", KEY_A)], "not a droplet name"),
    ([("../x", "10.0.0.2", KEY_A)], "not a droplet name"),
    ([("a", "10.0.0.2", "garbage")], "expected 'TYPE BASE64"),
])
def test_known_hosts_refuses(pins, reason):
    with pytest.raises(HostKeyError, match=reason):
        hostkeys.render_known_hosts(pins)


SCAN = ("# 10.0.0.3:22 SSH-2.0-OpenSSH_9.2p1\n10.0.0.3 %s\n10.0.0.3 %s\n10.0.0.3 junk\n10.0.0.2 %s\n"
        "10.0.0.4 ssh-ed25519 !!!\n" % (KEY_RSA, KEY_B, KEY_A))


@pytest.mark.parametrize("out, expected", [("", {}), (SCAN, {"10.0.0.3": [KEY_RSA, KEY_B], "10.0.0.2": [KEY_A]})])
def test_presented_keys_from_keyscan(out, expected):
    assert hostkeys.presented_keys(out) == expected


@pytest.mark.parametrize("pinned, presented, expected", [
    (KEY_B, [KEY_RSA, KEY_B], None),
    (KEY_A + " comment", [KEY_A], None),
    (KEY_A, [], None),  # unreachable from here: nothing to compare
    (KEY_A, [KEY_B], "SSH host key of droplet shop-web1 (10.0.0.3) has changed: pinned %s, presented %s" % (FP_A, FP_B)),
    (KEY_A, [KEY_RSA], "SSH host key of droplet shop-web1 (10.0.0.3) has changed: pinned %s, presented SHA256:" % FP_A),
    (None, [KEY_A], "droplet shop-web1 (10.0.0.3) has no pinned SSH host key"),
    (None, [], "droplet shop-web1 (10.0.0.3) has no pinned SSH host key"),
])
def test_host_key_problem_names_the_droplet(pinned, presented, expected):
    problem = hostkeys.host_key_problem("shop-web1", "10.0.0.3", pinned, presented)
    if expected is None:
        assert problem is None
    else:
        assert problem.startswith(expected)
        assert "pcloud recover shop-web1" in problem


@pytest.mark.parametrize("presented, expected", [
    ([], None),
    ([KEY_RSA], KEY_RSA),
    ([KEY_RSA, KEY_B, KEY_A], KEY_B),
])
def test_key_to_adopt_prefers_ed25519(presented, expected):
    assert hostkeys.key_to_adopt(presented) == expected


CHANGES = {"create": [{"name": "shop-web2"}], "keep": [{"name": "pcloud-master", "id": 1}, {"name": "shop-web1", "id": 2}],
           "resize": [{"name": "shop-web3"}], "destroy": [{"name": "old", "id": 9}]}


@pytest.mark.parametrize("force, replace, expected", [
    (False, [], ["shop-web2"]),
    (False, ["shop-web1", "nosuch"], ["shop-web1", "shop-web2"]),
    (True, [], ["pcloud-master", "shop-web1", "shop-web2"]),
    (True, ["shop-web3"], ["pcloud-master", "shop-web1", "shop-web2"]),
])
def test_droplets_to_pin_are_the_ones_the_run_creates(force, replace, expected):
    assert hostkeys.droplets_to_pin(CHANGES, force, replace) == expected


@pytest.mark.parametrize("directory, fits", [
    ("/c/ssh/cp", True),
    ("/" + "d" * 78, True),   # 79 + 28 = 107
    ("/" + "d" * 79, False),
])
def test_control_dir_fits_a_unix_socket_path(directory, fits):
    assert hostkeys.control_dir_fits(directory) is fits


def test_ssh_hostvars_check_strictly_against_the_config_dir():
    got = hostkeys.ssh_hostvars("shop-web1", "/srv/my config", "/srv/my config/ssh/cp")
    args = shlex.split(got["ansible_ssh_common_args"])
    assert args == ["-o", "UserKnownHostsFile=/srv/my config/ssh/known_hosts", "-o", "StrictHostKeyChecking=yes",
                    "-o", "HostKeyAlias=shop-web1", "-o", "GlobalKnownHostsFile=/dev/null"]
    assert got["ansible_host_key_checking"] is True
    assert got["ansible_control_path_dir"] == "/srv/my config/ssh/cp"
    assert "ansible_control_path" not in got  # ansible's own short hash name


def test_control_dir_is_private_under_the_config_dir():
    base = Path(tempfile.mkdtemp(dir="/tmp"))  # short enough for a socket path
    try:
        config = base / "c"
        (config / "ssh").mkdir(parents=True, mode=0o755)
        path = hostkeys.control_dir(str(config))
        assert path == str(config / "ssh" / "cp")
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o700
        assert stat.S_IMODE(os.stat(config / "ssh").st_mode) == 0o700
    finally:
        shutil.rmtree(base)


def test_control_dir_falls_back_to_a_private_temporary_dir_and_reuses_it(tmp_path, monkeypatch):
    config = tmp_path / ("long" * 20)
    config.mkdir()
    short = Path(tempfile.mkdtemp(dir="/tmp"))  # a short TMPDIR for mkdtemp
    monkeypatch.setattr(hostkeys.tempfile, "tempdir", str(short))
    first = hostkeys.control_dir(str(config))
    assert first.startswith(str(short / "pcloud-cp-"))
    assert stat.S_IMODE(os.stat(first).st_mode) == 0o700
    assert hostkeys.control_dir(str(config)) == first
    os.chmod(first, 0o755)  # no longer private: not reused
    assert hostkeys.control_dir(str(config)) != first
    shutil.rmtree(short)


def test_write_private_file_is_atomic_and_reports_change(tmp_path):
    path = tmp_path / "k"
    assert hostkeys.write_private_file(str(path), "one\n") is True
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert hostkeys.write_private_file(str(path), "one\n") is False
    assert hostkeys.write_private_file(str(path), "two\n", 0o644) is True
    assert path.read_text() == "two\n" and stat.S_IMODE(os.stat(path).st_mode) == 0o644
    assert [p.name for p in tmp_path.iterdir()] == ["k"]
