# -*- coding: utf-8 -*-
# Copyright (c) pcloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import base64
import io
import subprocess
import sys
import zipfile

import pytest

from ansible_collections.pcloud.infra.plugins.module_utils.zipapp import zipapp, zipapp_b64

FILES = {"app.py": "import helper\n\n\ndef main():\n    print(helper.WORD)\n    return 3\n", "helper.py": "WORD = 'hi'\n"}


def test_runs_main_and_exits_with_its_code(tmp_path):
    path = tmp_path / "app.pyz"
    path.write_bytes(zipapp(FILES, "app"))
    ran = subprocess.run([sys.executable, "-I", "-S", str(path)], capture_output=True, text=True, timeout=30, check=False)
    assert (ran.returncode, ran.stdout) == (3, "hi\n"), ran.stderr


def test_same_files_same_bytes():
    assert zipapp(FILES, "app") == zipapp(dict(reversed(list(FILES.items()))), "app")
    assert base64.b64decode(zipapp_b64(FILES, "app")) == zipapp(FILES, "app")
    names = zipfile.ZipFile(io.BytesIO(zipapp(FILES, "app"))).namelist()
    assert names == ["__main__.py", "app.py", "helper.py"]


@pytest.mark.parametrize("files, main, fragment", [
    ({"../x.py": ""}, "x", "not a top-level Python module name"),
    ({"pkg/x.py": ""}, "x", "not a top-level Python module name"),
    ({"x.txt": ""}, "x", "not a top-level Python module name"),
    ({"__main__.py": ""}, "x", "not a top-level Python module name"),
    ({"x.py": ""}, "y", "the entry module 'y' is not among the files"),
])
def test_refuses_what_is_not_a_flat_set_of_modules(files, main, fragment):
    with pytest.raises(ValueError, match=fragment):
        zipapp(files, main)
