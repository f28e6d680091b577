"""The README's deployment_config.json example is valid and its key table names every key the parser accepts."""

from __future__ import annotations

import re
from pathlib import Path

from pcloud import _collection  # noqa: F401

from ansible_collections.pcloud.infra.plugins.module_utils import spec  # isort: skip
from ansible_collections.pcloud.infra.plugins.module_utils.jsonlines import load_json_text  # isort: skip

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()
SECTION = README.split("## deployment_config.json, every key", 1)[1].split("\n## ", 1)[0]


def test_the_example_is_a_valid_deployment_config():
    block = SECTION.split("```json", 1)[1].split("```", 1)[0]
    config = spec.parse_deployment_config(load_json_text(block, "README.md"))
    services = {s.name: s.to_json() for s in config.projects[0].services}
    assert services["boot"]["entrypoint"] == ["./boot.sh"] and services["worker_email"]["command"]
    assert services["backend"]["port"] == 5000 and "port" not in services["boot"]


def test_the_table_covers_every_key():
    documented = {key.split(".")[-1] for key in re.findall(r"^\| `([a-z_.]+)` \|", SECTION, re.M)}
    source = Path(spec.__file__).read_text()
    source = source[source.index("def parse_deployment_config("):source.index("def _unknown_keys(")]  # not the infra spec
    accepted = set()
    for keys in re.findall(r"_unknown_keys\([a-z]+, \(([^)]*)\)", source, re.S):
        accepted |= set(re.findall(r'"([a-z_]+)"', keys))
    assert {"entrypoint", "queue", "shared_secrets"} <= accepted  # the slice holds the deployment config's parser
    assert accepted - {"projects", "git_config", "versioning"} <= documented, sorted(accepted - documented)
