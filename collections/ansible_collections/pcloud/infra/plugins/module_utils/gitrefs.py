# -*- coding: utf-8 -*-
# Copyright (c) pcloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Private to this collection: the API of this file may change without notice.
"""Reading a source directory: Git tags (the argv pcloud runs and the parsing of its output, no shell), the working
tree's content hash and the name of a build."""

from __future__ import annotations

import hashlib
import os
import re
import stat
from typing import Any, Callable, Dict, List, Tuple

# name NUL object NUL peeled object (an annotated tag peels to its commit; a lightweight one has none)
TAG_FORMAT = "%(refname:strip=2)%00%(objectname)%00%(*objectname)"
COMMIT_RE = re.compile(r"^[0-9a-f]{40}\Z")
TAG_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,100}\Z")


def list_tags_argv(path: str) -> List[str]:
    return ["git", "-C", path, "for-each-ref", "refs/tags", "--format=" + TAG_FORMAT]


def parse_tags(output: str) -> Dict[str, str]:
    """``{tag: commit}`` from ``for-each-ref`` output in TAG_FORMAT."""
    tags: Dict[str, str] = {}
    for line in output.splitlines():
        parts = line.split("\0")
        if len(parts) != 3 or not parts[0]:
            continue
        name, obj, peeled = parts
        tags[name] = peeled or obj
    return tags


def tags_at(tags: Dict[str, str], commit: str) -> List[str]:
    """The tags that point at ``commit``, sorted."""
    return sorted(name for name, target in tags.items() if target == commit)


def tree_hash(root: str, skip: Tuple[str, ...] = (".git",)) -> str:
    """sha256 (hex) of a working tree as a build sees it: every file's path, executable bit and content, symlinks'
    targets, in path order; ``.git`` left out. Names a ``--local`` build of uncommitted files (or of a directory
    that is not a Git repository), so an edit makes a new image and the same files the same one."""
    digest = hashlib.sha256()
    for base, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not (base == root and d in skip))
        rel_base = os.path.relpath(base, root)
        for name in sorted(files + [d for d in dirs if os.path.islink(os.path.join(base, d))]):
            path = os.path.join(base, name)
            rel = os.path.normpath(os.path.join(rel_base, name))
            if os.path.islink(path):
                digest.update(b"L\0%s\0%s\0" % (rel.encode(), os.readlink(path).encode()))
                continue
            mode = os.lstat(path).st_mode
            if not stat.S_ISREG(mode):
                continue
            digest.update(b"F\0%s\0%d\0" % (rel.encode(), 1 if mode & 0o111 else 0))
            with open(path, "rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
            digest.update(b"\0")
    return digest.hexdigest()


def build_name(head: str, dirty: bool, content: str) -> Tuple[str, bool]:
    """(the name of a ``--local`` build, whether it may be tagged): the commit for a clean working copy, else the
    content hash (uncommitted edits, or not a Git repository) - such a build gets no UAT tag."""
    if head and not dirty:
        return head, True
    return content, False


Runner = Callable[[List[str]], Tuple[int, str, str]]


def read_repo(run: Runner, git: str, path: str, content_hash: bool = False) -> Dict[str, Any]:
    """What a source directory holds, read with ``run`` (an argv runner such as ``AnsibleModule.run_command``):
    ``is_repo``, ``head``, ``tags`` ({tag: commit}), ``tags_at_head``; with ``content_hash`` also ``dirty``,
    ``content`` (tree_hash), ``build`` and ``taggable`` (build_name). Raises ValueError with the reason."""
    if not os.path.isdir(path):
        raise ValueError("%s is not a directory" % path)
    rc, _out, _err = run([git, "-C", path, "rev-parse", "--is-inside-work-tree", "--is-bare-repository"])
    is_repo = rc == 0
    head, tags = "", {}  # type: str, Dict[str, str]
    if is_repo:
        rc, out, _err = run([git, "-C", path, "rev-parse", "--verify", "--quiet", "HEAD"])
        head = out.strip() if rc == 0 else ""
        rc, out, err = run([git] + list_tags_argv(path)[1:])
        if rc != 0:
            raise ValueError("cannot read the tags of %s: %s" % (path, err.strip()))
        tags = parse_tags(out)
    elif not content_hash:
        raise ValueError("%s is not a Git repository" % path)
    found: Dict[str, Any] = {"is_repo": is_repo, "head": head, "tags": tags,
                             "tags_at_head": tags_at(tags, head) if head else []}
    if content_hash:
        dirty = False
        if is_repo:
            rc, out, _err = run([git, "-C", path, "status", "--porcelain", "--untracked-files=normal"])
            dirty = rc != 0 or bool(out.strip())
        content = tree_hash(path)
        build, taggable = build_name(head, dirty, content)
        found.update(dirty=dirty, content=content, build=build, taggable=taggable)
    return found
