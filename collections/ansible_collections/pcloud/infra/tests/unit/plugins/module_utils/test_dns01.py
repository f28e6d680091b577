# -*- coding: utf-8 -*-
# Copyright (c) pcloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""DNS-01 TXT records through the Cloudflare API: zones, idempotent changes, nameservers, hostile names."""

from __future__ import annotations

import pytest

from ansible_collections.pcloud.infra.plugins.module_utils import dns01

VALUE = "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0"
ZONES = [{"id": "1", "name": "example.com"}, {"id": "2", "name": "shop.example.com"}, {"id": "3", "name": "ample.com"}]


@pytest.mark.parametrize("name, zone", [
    ("_acme-challenge.shop.example.com", "2"),
    ("_acme-challenge.www.shop.example.com", "2"),
    ("_acme-challenge.example.com", "1"),
    ("_acme-challenge.other.org", None),
])
def test_a_record_goes_to_the_longest_zone_it_lies_in(name, zone):
    found = dns01.zone_for(name, ZONES)
    assert (found["id"] if found else None) == zone


def test_a_label_suffix_is_not_a_zone():
    assert dns01.zone_for("_acme-challenge.example.com", [{"id": "3", "name": "ample.com"}]) is None


def test_present_creates_only_what_is_missing_and_absent_deletes_only_matching_values():
    wanted = [{"name": "_acme-challenge.example.com", "value": "v1"}, {"name": "_acme-challenge.example.com", "value": "v2"}]
    existing = [{"id": "r1", "name": "_acme-challenge.example.com", "content": '"v1"'},
                {"id": "r9", "name": "_acme-challenge.example.com", "content": "someone-elses"}]
    assert dns01.txt_changes(wanted, existing, True) == ([{"name": "_acme-challenge.example.com", "value": "v2"}], [])
    assert dns01.txt_changes(wanted, existing, False) == ([], ["r1"])
    assert dns01.txt_changes(wanted + wanted, [], True)[0] == wanted  # a value asked twice is created once


@pytest.mark.parametrize("record", [
    {"name": "_acme-challenge.example.com; rm -rf /", "value": VALUE},
    {"name": "www.example.com", "value": VALUE},
    {"name": "_acme-challenge.*.example.com", "value": VALUE},
    {"name": "_acme-challenge.example.com", "value": "a b"},
    {"name": "_acme-challenge.example.com", "value": "x" * 256},
    {"name": "_acme-challenge.ex\u0430mple.com", "value": VALUE},
])
def test_hostile_records_are_refused(record):
    assert dns01.record_problem(record)


def test_a_challenge_record_passes():
    assert dns01.record_problem({"name": "_acme-challenge.shop.example.com", "value": VALUE}) is None


@pytest.mark.parametrize("value, parsed", [("127.0.0.1:18053", ("127.0.0.1", 18053)),
                                           ("ns1.example.net", ("ns1.example.net", 53))])
def test_nameservers_parse(value, parsed):
    assert dns01.nameserver(value) == parsed


@pytest.mark.parametrize("value", ["-ns.example.net", "ns:0", "ns:\u0661\u0662", "ns:99999", "ns;x", ""])
def test_bad_nameservers_are_refused(value):
    with pytest.raises(ValueError):
        dns01.nameserver(value)


def test_missing_names_what_a_nameserver_does_not_answer_yet():
    wanted = [{"name": "_acme-challenge.example.com", "value": "v1"}, {"name": "_acme-challenge.example.com", "value": "v2"}]
    assert dns01.missing(wanted, {"_acme-challenge.example.com": ["v2"]}) == ["_acme-challenge.example.com=v1"]
    assert dns01.missing(wanted, {"_acme-challenge.example.com": ["v1", "v2", "old"]}) == []
