# -*- coding: utf-8 -*-
# Copyright (c) pcloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet key pair: what 'pcloud init' writes and orchestration creates when a config dir lacks it."""

from __future__ import annotations

import os
import stat

import pytest

from ansible_collections.pcloud.infra.plugins.module_utils import fleetkey
from ansible_collections.pcloud.infra.plugins.module_utils.fleetkey import FleetKeyError, ensure_fleet_key


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_a_config_dir_with_only_a_spec_gets_the_pair(tmp_path):
    (tmp_path / "projects.csv").write_text("Project,Servers,MasterSpec,WebSpec\n")
    key = ensure_fleet_key(str(tmp_path))
    ssh = tmp_path / "ssh"
    assert key.path == str(ssh / "id_ed25519")
    assert key.created == [str(ssh), str(ssh / "id_ed25519"), str(ssh / "id_ed25519.pub")]
    assert (mode(ssh), mode(ssh / "id_ed25519"), mode(ssh / "id_ed25519.pub")) == (0o700, 0o600, 0o644)
    assert (ssh / "id_ed25519.pub").read_text() == key.public_key + "\n"
    assert key.public_key.startswith("ssh-ed25519 ") and key.public_key.endswith(" pcloud-fleet")
    # the two halves belong together
    assert fleetkey.public_from_private((ssh / "id_ed25519").read_bytes()) == key.public_key


def test_idempotent(tmp_path):
    first = ensure_fleet_key(str(tmp_path))
    before = (tmp_path / "ssh" / "id_ed25519").read_bytes()
    again = ensure_fleet_key(str(tmp_path))
    assert again.created == [] and again.public_key == first.public_key
    assert (tmp_path / "ssh" / "id_ed25519").read_bytes() == before


def test_an_existing_ssh_dir_is_kept_and_made_private(tmp_path):
    (tmp_path / "ssh").mkdir(mode=0o755)
    key = ensure_fleet_key(str(tmp_path))
    assert str(tmp_path / "ssh") not in key.created and mode(tmp_path / "ssh") == 0o700


def test_check_mode_writes_nothing(tmp_path):
    key = ensure_fleet_key(str(tmp_path), check=True)
    assert key.created == [str(tmp_path / "ssh" / "id_ed25519"), str(tmp_path / "ssh" / "id_ed25519.pub")]
    assert key.public_key.startswith("ssh-ed25519 ")
    assert list(tmp_path.iterdir()) == []


def test_a_missing_public_half_is_derived(tmp_path):
    first = ensure_fleet_key(str(tmp_path))
    pub = tmp_path / "ssh" / "id_ed25519.pub"
    pub.unlink()
    assert ensure_fleet_key(str(tmp_path), check=True).created == [str(pub)] and not pub.exists()
    again = ensure_fleet_key(str(tmp_path))
    assert again.created == [str(pub)] and again.public_key == first.public_key
    assert pub.read_text() == first.public_key + "\n"


def test_a_public_half_without_its_private_key_is_replaced(tmp_path):
    first = ensure_fleet_key(str(tmp_path))
    (tmp_path / "ssh" / "id_ed25519").unlink()
    again = ensure_fleet_key(str(tmp_path))
    assert again.public_key != first.public_key
    assert (tmp_path / "ssh" / "id_ed25519.pub").read_text() == again.public_key + "\n"


def test_an_unreadable_private_key_without_public_half_stops_with_the_fix(tmp_path):
    (tmp_path / "ssh").mkdir(mode=0o700)
    (tmp_path / "ssh" / "id_ed25519").write_text("not a key\n")
    with pytest.raises(FleetKeyError, match="write the public key next to it, or move both away"):
        ensure_fleet_key(str(tmp_path))


def test_an_explicit_path(tmp_path):
    key = ensure_fleet_key(str(tmp_path / "cfg"), path=str(tmp_path / "keys" / "fleet"))
    assert key.created == [str(tmp_path / "keys"), str(tmp_path / "keys" / "fleet"), str(tmp_path / "keys" / "fleet.pub")]
    assert not (tmp_path / "cfg").exists()


def test_new_pair_is_ed25519_with_comment():
    private, public = fleetkey.new_ed25519_pair("c")
    assert private.startswith("-----BEGIN OPENSSH PRIVATE KEY-----") and public.startswith("ssh-ed25519 ")
    assert fleetkey.public_from_private(private.encode(), "c") == public


def test_a_concurrent_run_that_wins_gives_its_key(tmp_path, monkeypatch):
    other_private, other_public = fleetkey.new_ed25519_pair()
    real = fleetkey._write_new

    def lose_the_race(path, content, mode):
        real(path, other_private, 0o600)  # the other run creates the private half first
        return real(path, content, mode)

    monkeypatch.setattr(fleetkey, "_write_new", lose_the_race)
    key = ensure_fleet_key(str(tmp_path))
    assert key.public_key == other_public
    assert (tmp_path / "ssh" / "id_ed25519").read_text() == other_private


@pytest.mark.parametrize("line, expected", [
    # ssh-keygen -l -E md5, which is how DigitalOcean names a key
    ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEsjLdwAP3+rm+MKf6yqMsQ/ixHVz3Z3/dDJNyByPFV3 x",
     "a6:c4:5a:5a:7a:6e:7c:ef:05:25:5b:ee:ff:00:8b:da"),
    ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEsjLdwAP3+rm+MKf6yqMsQ/ixHVz3Z3/dDJNyByPFV3",
     "a6:c4:5a:5a:7a:6e:7c:ef:05:25:5b:ee:ff:00:8b:da"),
])
def test_provider_fingerprint(line, expected):
    assert fleetkey.provider_fingerprint(line) == expected


@pytest.mark.parametrize("line", ["", "ssh-ed25519", "ssh-ed25519 not*base64"])
def test_provider_fingerprint_of_a_bad_line(line):
    with pytest.raises(FleetKeyError, match="not an OpenSSH public key line"):
        fleetkey.provider_fingerprint(line)
