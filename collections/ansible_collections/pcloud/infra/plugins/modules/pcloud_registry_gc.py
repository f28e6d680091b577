#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) pcloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: pcloud_registry_gc
short_description: Delete a project's old images from the fleet's registry and collect their blobs
version_added: 0.3.0
author: pcloud contributors (@pcloud)
description:
  - Runs on master. For each repository in O(repositories), reads every tag's manifest digest through the registry
    API (TLS with the fleet CA, basic auth) and deletes the manifests no kept release uses (O(keep)), then runs the
    registry's C(garbage-collect) in its container so their layers are freed.
  - Run it after a deploy, not during a push (the registry's garbage collection is not safe during uploads).
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  platform:
    platforms: posix
options:
  registry:
    description: The registry's address.
    type: str
    default: registry.pcloud:5000
  username:
    description: The registry user.
    type: str
    default: pcloud
  password:
    description: The registry password.
    type: str
    required: true
  ca_path:
    description: The fleet CA certificate.
    type: path
    default: /etc/docker/certs.d/registry.pcloud:5000/ca.crt
  repositories:
    description: Repository paths (C(<project>/<service>)).
    type: list
    elements: str
    required: true
  keep:
    description: Digest references of the releases to keep.
    type: list
    elements: str
    default: []
  container:
    description: The registry's container (for C(garbage-collect)).
    type: str
    required: true
  config:
    description: The registry's configuration inside its container.
    type: str
    default: /etc/docker/registry/config.yml
"""

EXAMPLES = r"""
- name: Keep the images of the newest three releases
  pcloud.infra.pcloud_registry_gc:
    password: "{{ registry_password }}"
    repositories: [shop/api, shop/worker]
    keep: "{{ kept }}"
    container: pcloud-master-registry
"""

RETURN = r"""
deleted:
  description: The manifests deleted, as C(<repository>@<digest>).
  returned: always
  type: list
  elements: str
"""

import base64
import json
import urllib.error
from typing import Dict

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.urls import open_url

from ansible_collections.pcloud.infra.plugins.module_utils import registry

MANIFEST_TYPES = ", ".join(("application/vnd.docker.distribution.manifest.v2+json",
                            "application/vnd.docker.distribution.manifest.list.v2+json",
                            "application/vnd.oci.image.manifest.v1+json", "application/vnd.oci.image.index.v1+json"))


class Registry:
    def __init__(self, module: AnsibleModule) -> None:
        p = module.params
        self.module = module
        self.base = "https://%s/v2/" % p["registry"]
        self.ca_path = p["ca_path"]
        self.auth = "Basic " + base64.b64encode(("%s:%s" % (p["username"], p["password"])).encode()).decode()

    def call(self, method: str, path: str):
        try:
            answer = open_url(self.base + path, method=method, ca_path=self.ca_path, timeout=30,
                              headers={"Authorization": self.auth, "Accept": MANIFEST_TYPES})
            return answer.status, answer.headers, answer.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.headers, exc.read()
        except (urllib.error.URLError, OSError) as exc:
            self.module.fail_json(msg="the registry at %s does not answer: %s" % (self.base, exc))
        return 0, {}, b""

    def tag_digests(self, repository: str) -> Dict[str, str]:
        status, _headers, body = self.call("GET", "%s/tags/list" % repository)
        if status == 404:
            return {}
        if status != 200:
            self.module.fail_json(msg="listing the tags of %s failed: HTTP %s" % (repository, status))
        out = {}
        for tag in json.loads(body or b"{}").get("tags") or ():
            status, headers, _body = self.call("HEAD", "%s/manifests/%s" % (repository, tag))
            if status == 200 and headers.get("Docker-Content-Digest"):
                out[tag] = headers["Docker-Content-Digest"]
        return out


def main() -> None:
    module = AnsibleModule(argument_spec={
        "registry": {"type": "str", "default": registry.REGISTRY_ADDRESS},
        "username": {"type": "str", "default": registry.REGISTRY_USER},
        "password": {"type": "str", "required": True, "no_log": True},
        "ca_path": {"type": "path", "default": "/etc/docker/certs.d/%s/ca.crt" % registry.REGISTRY_ADDRESS},
        "repositories": {"type": "list", "elements": "str", "required": True},
        "keep": {"type": "list", "elements": "str", "default": []},
        "container": {"type": "str", "required": True},
        "config": {"type": "str", "default": "/etc/docker/registry/config.yml"},
    }, supports_check_mode=True)
    client = Registry(module)
    deleted = []
    for repository in module.params["repositories"]:
        for digest in registry.manifests_to_delete(client.tag_digests(repository), module.params["keep"], repository):
            deleted.append("%s@%s" % (repository, digest))
            if module.check_mode:
                continue
            status, _headers, body = client.call("DELETE", "%s/manifests/%s" % (repository, digest))
            if status not in (202, 404):
                module.fail_json(msg="deleting %s@%s failed: HTTP %s %s" % (repository, digest, status, body[:200]))
    if deleted and not module.check_mode:
        try:
            import docker  # the droplet's Docker SDK (python3-docker)
            result = docker.from_env().containers.get(module.params["container"]).exec_run(
                ["docker-registry", "garbage-collect", module.params["config"]])
        except Exception as exc:  # noqa: BLE001 - any SDK failure is reported the same way
            module.fail_json(msg="garbage collection in %s failed: %s" % (module.params["container"], exc), deleted=deleted)
        if result.exit_code != 0:
            module.fail_json(msg="garbage collection failed: %s" % result.output.decode("utf-8", "replace")[-500:],
                             deleted=deleted)
    module.exit_json(changed=bool(deleted), deleted=deleted)


if __name__ == "__main__":
    main()
