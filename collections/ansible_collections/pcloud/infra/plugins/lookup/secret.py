# -*- coding: utf-8 -*-
# Copyright (c) pcloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: secret
short_description: A service secret from the environment or the config dir's .env
version_added: 0.1.0
author: pcloud contributors (@pcloud)
description:
  - Looks a secret up in the order C(PROJECT_ENV_NAME), C(PROJECT_NAME) (upper-case, C(-) as C(_)), and
    C(SHARED_NAME) for a name listed in C(shared_secrets) of C(deployment_config.json) - first in the controller's
    environment, then in C(.env) of the config dir (python-dotenv syntax; refused when group or world readable).
  - Nothing outside the project is read - not the bare C(NAME), not another project's variables, never pcloud's own
    credentials (provider tokens, C(PCLOUD_*), the mail and SMS credential variables).
  - Fails naming the secret and the variables tried, never a value. Use it only in tasks with C(no_log), unless
    O(source=true).
options:
  _terms:
    description: Secret names.
    required: true
    type: list
    elements: str
  project:
    description: The project (required unless O(variable=true)).
    type: str
  environment:
    description: The environment (required unless O(variable=true)).
    type: str
  config_dir:
    description: The config dir holding C(.env).
    type: path
    required: true
  source:
    description: Return the variable each secret comes from instead of its value (safe to show).
    type: bool
    default: false
  variable:
    description:
      - The terms are environment variable names (e.g. the C(password_env) of C(email_config.json)), looked up as they
        are in the controller's environment, then in C(.env); a variable set nowhere gives an empty string.
    type: bool
    default: false
  version:
    description:
      - Return a version of each value instead of the value (safe to show and to record in a release) - an
        HMAC-SHA256 under a key kept in C(secrets/.version-key) of the config dir, created when missing.
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Check that every secret is set, before anything changes
  ansible.builtin.debug:
    msg: "{{ query('pcloud.infra.secret', 'db_password', 'stripe_key', project='shop', environment='uat',
             config_dir='/srv/pcloud/config', source=true) }}"
"""

RETURN = r"""
_raw:
  description: The values (or, with O(source=true), the variable names they come from).
  type: list
  elements: str
"""

import os

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase

from ansible_collections.pcloud.infra.plugins.module_utils import notify, secrets, spec
from ansible_collections.pcloud.infra.plugins.module_utils.errors import PcloudError


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        config_dir = self.get_option("config_dir")
        try:
            dotenv = secrets.read_dotenv(os.path.join(config_dir, ".env"))
            if self.get_option("variable"):
                return [secrets.lookup_variable(name, os.environ, dotenv) or "" if name else "" for name in terms]
            if not self.get_option("project") or not self.get_option("environment"):
                raise AnsibleLookupError("pcloud.infra.secret: give project and environment (or variable=true)")
            email, sms = spec.load_notifications(config_dir)
            found = secrets.resolve(self.get_option("project"), self.get_option("environment"), terms, os.environ,
                                    dotenv, where=os.path.join(config_dir, spec.DEPLOYMENT_JSON),
                                    shared=spec.load_deployment_config(config_dir).shared_secrets,
                                    reserved_extra=notify.credential_variables(email, sms))
        except PcloudError as exc:
            raise AnsibleLookupError("pcloud.infra.secret: %s" % exc) from exc
        if self.get_option("version"):
            key = _version_key(os.path.join(config_dir, "secrets", ".version-key"))
            return [secrets.version(found[name].value, key) for name in terms]
        attr = "source" if self.get_option("source") else "value"
        return [getattr(found[name], attr) for name in terms]


def _version_key(path):
    if not os.path.exists(path):
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "wb") as handle:
                handle.write(os.urandom(32))
    with open(path, "rb") as handle:
        return handle.read()
