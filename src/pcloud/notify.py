"""Sending notifications: mail over SMTP (text + HTML from editable Jinja templates) and SMS through a
Twilio-compatible HTTP API. A failing mail server or SMS provider is reported, never raised: monitoring
goes on. Standard library plus Jinja; the health agent runs this file inside droplets too
(``pcloud_notify.py`` beside ``notify_rules.py``)."""

from __future__ import annotations

import logging
import os
import smtplib
import socket
import urllib.error
import urllib.request
from email.message import EmailMessage
from typing import Any, Dict, List, Mapping, Optional

import jinja2

try:  # on the control node
    from pcloud import _collection  # noqa: F401
    from ansible_collections.pcloud.infra.plugins.module_utils import notify as rules  # isort: skip
except ImportError:  # inside a droplet, beside the agent
    import notify_rules as rules  # type: ignore[no-redef]

LOG = logging.getLogger("pcloud.notify")
PACKAGE_TEMPLATES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "templates")


class Notifier:
    """``Notifier(email, sms, template_dirs, password=..., sms_token=...)``; ``mail()`` and ``sms()`` return None
    when sent, else the reason (logged)."""

    def __init__(self, email: Mapping[str, Any], sms: Mapping[str, Any], template_dirs: List[str],
                 username: Optional[str] = None, password: Optional[str] = None, sms_token: Optional[str] = None,
                 sender: Optional[str] = None) -> None:
        self.email, self.sms_cfg = dict(email), dict(sms)
        self.username, self.password, self.sms_token = username, password, sms_token
        self.sender = sender or socket.gethostname()
        loader = jinja2.FileSystemLoader([d for d in template_dirs if d and os.path.isdir(d)] + [PACKAGE_TEMPLATES])
        self.env = jinja2.Environment(loader=loader, autoescape=jinja2.select_autoescape(["html"]),
                                      keep_trailing_newline=True, undefined=jinja2.StrictUndefined)

    @classmethod
    def from_config_dir(cls, config_dir: str, environ: Mapping[str, str], sender: Optional[str] = None) -> Notifier:
        """The control node's notifier: settings from the config dir, secrets from the environment or ``.env``."""
        from ansible_collections.pcloud.infra.plugins.module_utils import secrets, spec

        email, sms = spec.load_notifications(config_dir)
        values = dict(secrets.read_dotenv(os.path.join(config_dir, ".env")), **environ)
        return cls(email, sms, [os.path.join(config_dir, "templates")],
                   username=values.get(email["username_env"] or ""), password=values.get(email["password_env"] or ""),
                   sms_token=values.get(sms["token_env"]), sender=sender)

    def render(self, name: str, **context: Any) -> str:
        return self.env.get_template(name).render(sender=self.sender, **context)

    def mail(self, subject: str, template: str, context: Dict[str, Any], html_template: Optional[str] = None) -> Optional[str]:
        if not self.email.get("enabled"):
            return "mail is disabled in email_config.json"
        try:
            message = EmailMessage()
            message["Subject"], message["From"], message["To"] = subject, self.email["from"], ", ".join(self.email["to"])
            message.set_content(self.render(template, subject=subject, **context))
            if html_template:
                message.add_alternative(self.render(html_template, subject=subject, **context), subtype="html")
            connect = smtplib.SMTP_SSL if self.email.get("tls") == "tls" else smtplib.SMTP
            with connect(self.email["smtp_host"], self.email["smtp_port"], timeout=self.email["timeout"]) as smtp:
                if self.email.get("tls", "starttls" if self.email.get("starttls") else "none") == "starttls":
                    smtp.starttls()
                if self.username and self.password:
                    smtp.login(self.username, self.password)
                smtp.send_message(message)
            return None
        except (OSError, smtplib.SMTPException, jinja2.TemplateError) as exc:
            LOG.warning("mail %r not sent: %s", subject, exc)
            return "%s: %s" % (type(exc).__name__, exc)

    def sms(self, body: str) -> Optional[str]:
        if not self.sms_cfg.get("enabled"):
            return "SMS is disabled in sms_config.json"
        if not self.sms_token:
            return "no SMS token (set %s)" % self.sms_cfg["token_env"]
        errors = []
        for number in self.sms_cfg["to"]:
            url, data, headers = rules.sms_request(self.sms_cfg, self.sms_token, number, body)
            try:
                req = urllib.request.Request(url, data=data, headers=headers, method="POST")
                with urllib.request.urlopen(req, timeout=self.sms_cfg["timeout"]) as resp:  # noqa: S310 - configured provider
                    resp.read()
            except (OSError, urllib.error.URLError) as exc:
                LOG.warning("SMS to %s not sent: %s", number, exc)
                errors.append("%s: %s" % (number, exc))
        return "; ".join(errors) or None

    def critical(self, what: str, details: List[str]) -> Dict[str, Optional[str]]:
        """Mail and SMS: something needs the owner now."""
        subject = rules.critical_subject(what)
        return {"mail": self.mail(subject, "critical.txt.j2", {"what": what, "details": details}),
                "sms": self.sms("%s - %s" % (subject, "; ".join(details))[:1600])}


