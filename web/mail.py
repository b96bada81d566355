"""Sending mail: over SMTP (``MAIL_SERVER`` set), or to the log (``make dev``, and any stack
without a mail server configured), so a reset link is never lost silently.

Mail is sent by the worker (the ``send_email`` job), never inside a request: a slow or broken
SMTP server delays mail, not pages, and a failed send is retried, then dead-lettered where an
admin sees it.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
import typing as t
from email.message import EmailMessage
from email.utils import make_msgid

from erlen import current_app

log = logging.getLogger("web.mail")

#: Seconds an SMTP conversation may stall before the send fails (and the job retries).
SMTP_TIMEOUT = 15.0


def build_message(
    *, to: str, subject: str, text: str, sender: str, domain: str | None = None
) -> EmailMessage:
    """A plain-text mail."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain=domain)
    message.set_content(text)
    return message


def send(*, to: str, subject: str, text: str, config: t.Mapping[str, t.Any] | None = None) -> None:
    """Send one mail with the app's ``MAIL_*`` settings (the current app's by default).

    :raises smtplib.SMTPException, OSError: the server refused or couldn't be reached.
    """
    config = current_app.config if config is None else config
    message = build_message(to=to, subject=subject, text=text, sender=config["MAIL_FROM"])
    if config["MAIL_BACKEND"] == "console":
        # Said in full: with no mail server, the log is where a person finds the link.
        log.warning("Mail not sent (no MAIL_SERVER); it reads:\n%s", message.as_string())
        return
    host, port = config["MAIL_SERVER"], int(config["MAIL_PORT"])
    context = ssl.create_default_context()
    smtp: smtplib.SMTP
    if config["MAIL_USE_SSL"]:
        smtp = smtplib.SMTP_SSL(host, port, timeout=SMTP_TIMEOUT, context=context)
    else:
        smtp = smtplib.SMTP(host, port, timeout=SMTP_TIMEOUT)
    with smtp:
        if config["MAIL_USE_TLS"]:
            smtp.starttls(context=context)
        if config["MAIL_USERNAME"]:
            smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"] or "")
        smtp.send_message(message)
    log.info("Mail sent to %s: %s", to, subject)
