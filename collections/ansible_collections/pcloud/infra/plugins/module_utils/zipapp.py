# -*- coding: utf-8 -*-
# Copyright (c) pcloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Private to this collection: the API of this file may change without notice.
"""A Python zip application built in memory, byte for byte the same for the same files: the health agent travels to a
droplet as one file (``python3 agent.pyz``), so the role copies one file instead of one per module, and a label can
carry its hash."""

from __future__ import annotations

import base64
import io
import re
import zipfile
from typing import Mapping

_MODULE_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\.py\Z")
_EPOCH = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip entry can carry: no build time in the bytes


def zipapp(files: Mapping[str, str], main: str) -> bytes:
    """A zip application of the modules ``files`` (``{"name.py": source}``) whose ``__main__`` exits with
    ``main``'s ``main()``; ValueError for a name that is not a top-level module."""
    for name in files:
        if not _MODULE_RE.match(name) or name == "__main__.py":
            raise ValueError("%r is not a top-level Python module name" % (name,))
    if main + ".py" not in files:
        raise ValueError("the entry module %r is not among the files" % (main,))
    sources = dict(files, **{"__main__.py": "import sys\n\nfrom %s import main\n\nsys.exit(main())\n" % main})
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        for name in sorted(sources):
            info = zipfile.ZipInfo(name, date_time=_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, sources[name].encode("utf-8"))
    return buf.getvalue()


def zipapp_b64(files: Mapping[str, str], main: str) -> str:
    return base64.b64encode(zipapp(files, main)).decode("ascii")
