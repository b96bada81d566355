"""A mail catcher for ``make up``: an SMTP server that keeps what it is sent, and pages to
read it at ``/_mail/`` (behind nginx, with a password).

Mail the stack sends (password resets, mention notifications) lands here instead of in real
inboxes until ``MAIL_SERVER`` points at a real SMTP server. It is a development tool: a
reset link in it opens an account, so the pages ask for ``MAILCATCHER_PASSWORD`` (``make
up`` generates one in .env), and deploy/k8s has no catcher at all.

An erlen app, like the rest of the starter, over :class:`~mailcatcher.inbox.Inbox`; the
SMTP side is aiosmtpd.
"""

from __future__ import annotations

import hmac
import re
import typing as t

from erlen import abort
from erlen import Erlen
from erlen import jsonify
from erlen import render_template
from erlen import request
from erlen import Response
from markupsafe import escape
from markupsafe import Markup

from .inbox import Inbox

PREFIX = "/_mail"
# Links in a message's text become clickable (the reset link is what people come for).
_URL = re.compile(r"https?://[^\s<>\"']+")


class SMTPHandler:
    """aiosmtpd's handler: every message accepted goes into the inbox."""

    def __init__(self, inbox: Inbox) -> None:
        self.inbox = inbox

    async def handle_DATA(self, server: t.Any, session: t.Any, envelope: t.Any) -> str:
        self.inbox.add(envelope.mail_from, envelope.rcpt_tos, envelope.original_content)
        return "250 Message accepted for delivery"


def linkify(text: str) -> Markup:
    """``text`` escaped, with its http(s) URLs as links."""
    out, last = [], 0
    for match in _URL.finditer(text):
        url = match.group(0)
        out += [escape(text[last : match.start()]), Markup('<a href="%s">%s</a>') % (url, url)]
        last = match.end()
    out.append(escape(text[last:]))
    return Markup("").join(out)


def create_app(inbox: Inbox, password: str) -> Erlen:
    """The pages and the JSON API over ``inbox``; everything but the health check asks for
    HTTP basic auth with ``password`` (any user name)."""
    if not password:
        raise ValueError("MAILCATCHER_PASSWORD: is not set; the caught mail opens accounts.")
    app = Erlen(__name__)
    app.jinja_env.filters["linkify"] = linkify

    @app.before_request
    def require_password() -> Response | None:
        if request.endpoint in {"healthz", "static"} or request.endpoint is None:
            return None
        given = request.authorization.password if request.authorization else None
        if given is not None and hmac.compare_digest(given.encode(), password.encode()):
            return None
        return Response(
            "The caught mail needs MAILCATCHER_PASSWORD (in .env).\n",
            401,
            {"WWW-Authenticate": 'Basic realm="erlen mail catcher"', "Content-Type": "text/plain"},
        )

    @app.after_request
    def headers(response: Response) -> Response:
        # Only our own stylesheet; no script at all. Mail never goes into a shared cache.
        response.headers["Content-Security-Policy"] = (
            "default-src 'none'; style-src 'self'; img-src 'self'; frame-ancestors 'none'"
        )
        response.headers["Cache-Control"] = "no-store"
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        return response

    @app.get(f"{PREFIX}/healthz")
    def healthz() -> str:
        return "ok\n"

    @app.get(f"{PREFIX}/")
    def index() -> str:
        return render_template("inbox.html", messages=inbox.newest_first())

    @app.get(f"{PREFIX}/<int:message_id>")
    def message(message_id: int) -> str:
        caught = inbox.get(message_id)
        if caught is None:
            abort(404, "No such message: it was never caught, or the inbox dropped it.")
        return render_template("message.html", message=caught)

    @app.get(f"{PREFIX}/api/messages")
    def messages_json() -> Response:
        return jsonify([m.as_json() for m in inbox.newest_first()])

    @app.delete(f"{PREFIX}/api/messages")
    def clear() -> Response:
        return jsonify({"deleted": inbox.clear()})

    return app
