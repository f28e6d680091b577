# -*- coding: utf-8 -*-
# Copyright (c) pcloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import pytest

from ansible_collections.pcloud.infra.plugins.module_utils.errors import SpecError
from ansible_collections.pcloud.infra.plugins.module_utils.jsonlines import load_json_text, path_str

DOC = """{
  "a": {
    "b": [1,
          {"c": "x\\"y"}],
    "d": -1.5e3
  },
  "e": [], "f": {}, "g": null
}"""


@pytest.mark.parametrize("path, line", [
    ((), 1), (("a",), 2), (("a", "b"), 3), (("a", "b", 0), 3), (("a", "b", 1), 4), (("a", "b", 1, "c"), 4),
    (("a", "d"), 5), (("e",), 7), (("g",), 7), (("a", "b", 1, "zz"), 4), (("nope",), 1),
])
def test_line_of_each_path(path, line):
    doc = load_json_text(DOC, "f.json")
    assert doc.data["a"]["b"][1]["c"] == 'x"y'
    assert doc.line(path) == line


@pytest.mark.parametrize("text, message", [
    ("", "f.json:1: (file): file is empty"),
    ('{"a": 1,\n "b": }', "f.json:2: (syntax): JSON syntax error at column 7"),
    ('\ufeff{"a": tru}', "f.json:1: (syntax)"),
])
def test_errors(text, message):
    with pytest.raises(SpecError) as exc_info:
        load_json_text(text, "f.json")
    assert str(exc_info.value).startswith(message)


def test_bom_is_accepted_and_path_str():
    assert load_json_text('\ufeff{"a": 1}', "f.json").data == {"a": 1}
    assert path_str(("projects", "shop", "secrets", 2)) == "projects.shop.secrets[2]"
    assert path_str(()) == "(root)"
