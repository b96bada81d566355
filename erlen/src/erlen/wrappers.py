"""The request and response classes: werkzeug's, with the app's limits and JSON wired in."""

from __future__ import annotations

import typing as t
from io import BytesIO
from urllib.parse import parse_qsl

from werkzeug.datastructures import Headers
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import BadRequest
from werkzeug.exceptions import ClientDisconnected
from werkzeug.exceptions import HTTPException
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.utils import cached_property
from werkzeug.utils import get_content_type
from werkzeug.wrappers import Request as RequestBase
from werkzeug.wrappers import Response as ResponseBase
from werkzeug.wsgi import LimitedStream

from . import _fastpaths
from . import json
from .globals import _cv_app
from .helpers import _split_blueprint_path

if t.TYPE_CHECKING:  # pragma: no cover
    from _typeshed.wsgi import StartResponse
    from _typeshed.wsgi import WSGIEnvironment
    from werkzeug.routing import Rule


class Request(RequestBase):
    """The request object erlen uses by default, available as :data:`erlen.request`.

    Adds routing results (:attr:`url_rule`, :attr:`view_args`, :attr:`endpoint`,
    :attr:`blueprints`) and takes the body size limits from the app's config unless set
    on the request itself.
    """

    json_module: t.Any = json

    #: The rule that matched, or ``None`` before matching or if nothing matched.
    url_rule: Rule | None = None
    #: The matched URL values, or ``None``.
    view_args: dict[str, t.Any] | None = None
    #: The routing error (404, 405, redirect) to raise instead of dispatching, if any.
    routing_exception: HTTPException | None = None

    _max_content_length: int | None = None
    _max_form_memory_size: int | None = None
    _max_form_parts: int | None = None

    # Shortcuts this class takes, decided when it is created (see erlen._fastpaths).
    _fast_ascii_args: t.ClassVar[bool]
    _fast_direct_body: t.ClassVar[bool]
    _fast_skip_close: t.ClassVar[bool]

    def __init_subclass__(cls, **kwargs: t.Any) -> None:
        super().__init_subclass__(**kwargs)
        _fastpaths.decide(cls, Request)

    def _config_limit(self, key: str, own: int | None, base: int | None) -> int | None:
        if own is not None:
            return own
        app_ctx = _cv_app.get(None)
        if app_ctx is None:
            return base
        return app_ctx.app.config[key]  # type: ignore[no-any-return]

    @property
    def max_content_length(self) -> int | None:
        """The largest body accepted (``MAX_CONTENT_LENGTH``); a larger one gives 413."""
        return self._config_limit(
            "MAX_CONTENT_LENGTH", self._max_content_length, super().max_content_length
        )

    @max_content_length.setter
    def max_content_length(self, value: int | None) -> None:
        self._max_content_length = value

    @property
    def max_form_memory_size(self) -> int | None:
        """The largest non-file form field accepted (``MAX_FORM_MEMORY_SIZE``)."""
        return self._config_limit(
            "MAX_FORM_MEMORY_SIZE", self._max_form_memory_size, super().max_form_memory_size
        )

    @max_form_memory_size.setter
    def max_form_memory_size(self, value: int | None) -> None:
        self._max_form_memory_size = value

    @property  # type: ignore[override]
    def max_form_parts(self) -> int | None:
        """The most multipart parts accepted (``MAX_FORM_PARTS``)."""
        return self._config_limit("MAX_FORM_PARTS", self._max_form_parts, super().max_form_parts)

    @max_form_parts.setter
    def max_form_parts(self, value: int | None) -> None:
        self._max_form_parts = value

    @property
    def endpoint(self) -> str | None:
        """The endpoint of the matched rule, or ``None``."""
        if self.url_rule is not None:
            return self.url_rule.endpoint  # type: ignore[no-any-return]
        return None

    @property
    def blueprint(self) -> str | None:
        """The dotted name of the blueprint the matched endpoint belongs to, if any."""
        endpoint = self.endpoint
        if endpoint is not None and "." in endpoint:
            return endpoint.rpartition(".")[0]
        return None

    @property
    def blueprints(self) -> list[str]:
        """The blueprint and its parents, innermost first."""
        name = self.blueprint
        if name is None:
            return []
        return _split_blueprint_path(name)

    def _load_form_data(self) -> None:
        super()._load_form_data()
        app_ctx = _cv_app.get(None)
        # In debug mode, make a missing file (a form without the multipart enctype) explain
        # itself instead of giving a bare KeyError.
        if (
            app_ctx is not None
            and app_ctx.app.debug
            and self.mimetype != "multipart/form-data"
            and not self.files
        ):
            from .debughelpers import attach_enctype_error_multidict

            attach_enctype_error_multidict(self)

    @cached_property
    def args(self) -> MultiDict[str, str]:
        """The parsed query string.

        Like werkzeug's, except that raw bytes that aren't UTF-8 (which some servers pass
        through) become U+FFFD instead of raising, so a mangled URL is never a 500. A
        plain ASCII query without escapes (``?page=2&sort=name``, the usual case) is
        split directly: there is nothing to unquote, and the result is the same.
        """
        raw = self.query_string
        if self._fast_ascii_args and raw.isascii() and b"%" not in raw and b"+" not in raw:
            pairs = []
            for field in raw.decode("ascii").split("&"):
                if field:
                    name, _, value = field.partition("=")
                    pairs.append((name, value))
            return self.parameter_storage_class(pairs)
        return self.parameter_storage_class(
            parse_qsl(
                self.query_string.decode("utf-8", "replace"),
                keep_blank_values=True,
                errors="werkzeug.url_quote",
            )
        )

    @t.overload
    def get_data(
        self,
        cache: bool = True,
        as_text: t.Literal[False] = False,
        parse_form_data: bool = False,
    ) -> bytes: ...
    @t.overload
    def get_data(
        self, cache: bool = True, as_text: t.Literal[True] = ..., parse_form_data: bool = False
    ) -> str: ...
    def get_data(
        self, cache: bool = True, as_text: bool = False, parse_form_data: bool = False
    ) -> bytes | str:
        """The body as bytes (or text); see werkzeug's ``get_data``.

        The common case, a body with a ``Content-Length`` within the limit read once and
        cached, is read from ``wsgi.input`` directly instead of through a size-limiting
        stream wrapper: the length is known and checked, so the wrapper adds nothing.
        Everything else (no length, a server-terminated stream, a stream already in use,
        form parsing) takes werkzeug's path.
        """
        if (
            self._fast_direct_body
            and cache
            and not parse_form_data
            and "_cached_data" not in self.__dict__
            and "stream" not in self.__dict__
            and not self.shallow
            and not self.environ.get("wsgi.input_terminated")
            and "HTTP_TRANSFER_ENCODING" not in self.environ
        ):
            # Read the header from the environ: the same value werkzeug's content_length
            # gives when there is no Transfer-Encoding, without a headers lookup.
            raw_length = self.environ.get("CONTENT_LENGTH")
            if raw_length and raw_length.isascii() and raw_length.isdigit():
                length = int(raw_length)
                limit = self.max_content_length
                if limit is not None and length > limit:
                    raise RequestEntityTooLarge()
                data = self.environ["wsgi.input"].read(length) if length else b""
                if len(data) < length:
                    raise ClientDisconnected()
                self._cached_data = data
                # What werkzeug leaves behind after reading: an exhausted stream.
                self.__dict__["stream"] = LimitedStream(BytesIO(), 0)
        return super().get_data(cache, as_text, parse_form_data)  # type: ignore[call-overload, no-any-return]

    def get_json(self, force: bool = False, silent: bool = False, cache: bool = True) -> t.Any:
        """Parse the body as JSON; see werkzeug's ``get_json``.

        A document nested deeper than the parser's recursion limit is a 400 like any
        other invalid JSON, not a ``RecursionError``.
        """
        try:
            return super().get_json(force=force, silent=silent, cache=cache)
        except RecursionError:
            if silent:
                return None
            return self.on_json_loading_failed(
                ValueError("The JSON document is nested too deeply.")
            )

    def on_json_loading_failed(self, e: ValueError | None) -> t.Any:
        """Raise 400 for a body that isn't JSON; the parser's detail only in debug mode."""
        try:
            return super().on_json_loading_failed(e)
        except BadRequest as detailed:
            app_ctx = _cv_app.get(None)
            if app_ctx is not None and app_ctx.app.debug:
                raise
            raise BadRequest("The request body is not valid JSON.") from detailed


class Response(ResponseBase):
    """The response class erlen uses by default: ``text/html`` unless told otherwise.

    Behaves exactly like werkzeug's response. Two shortcuts make the common case cheap: a
    response built from just a body (as a view returning a string gets) fills its two
    headers directly, and a buffered response that has a body (not 1xx, 204 or 304) hands
    its body list straight to the server instead of wrapping it in a closing iterator.
    Anything unusual (a subclass overriding a method a shortcut skips, close callbacks,
    streaming, ``HEAD``, redirects) takes werkzeug's path; :mod:`erlen._fastpaths` lists the
    shortcuts and decides, per class, whether they are taken.
    """

    default_mimetype: str | None = "text/html"
    json_module = json
    autocorrect_location_header = False

    # Shortcuts this class takes, decided when it is created (see erlen._fastpaths).
    _fast_bare_body_response: t.ClassVar[bool]
    _fast_list_body_call: t.ClassVar[bool]

    def __init_subclass__(cls, **kwargs: t.Any) -> None:
        super().__init_subclass__(**kwargs)
        _fastpaths.decide(cls, Response)

    def __init__(
        self,
        response: t.Iterable[bytes] | bytes | t.Iterable[str] | str | None = None,
        status: int | str | None = None,
        headers: t.Any = None,
        mimetype: str | None = None,
        content_type: str | None = None,
        direct_passthrough: bool = False,
    ) -> None:
        if (
            self._fast_bare_body_response
            and status is None
            and headers is None
            and content_type is None
            and not direct_passthrough
        ):
            kind = type(response)
            if kind is str or kind is bytes:
                body: bytes = response.encode() if kind is str else response  # type: ignore[union-attr, assignment]
                header_list = [("Content-Length", str(len(body)))]
                ctype = _content_type_for(self.default_mimetype if mimetype is None else mimetype)
                if ctype is not None:
                    header_list.insert(0, ("Content-Type", ctype))
                self.headers = Headers()
                self.headers._list = header_list
                self._status = "200 OK"
                self._status_code = 200
                self.direct_passthrough = False
                self._on_close = []
                self.response = [body]
                return
        super().__init__(response, status, headers, mimetype, content_type, direct_passthrough)

    def __call__(
        self, environ: WSGIEnvironment, start_response: StartResponse
    ) -> t.Iterable[bytes]:
        body = self.response
        if (
            self._fast_list_body_call
            and type(body) is list
            and not self._on_close
            and not self.direct_passthrough
            and self._status_code >= 200
            and self._status_code not in (204, 304)
            and environ["REQUEST_METHOD"] != "HEAD"
        ):
            header_list: list[tuple[str, str]] = self.headers._list
            has_length = False
            for key, _value in header_list:
                lower = key.lower()
                if lower == "content-length":
                    has_length = True
                elif lower == "location" or lower == "content-location":
                    break
            else:
                if all(type(chunk) is bytes for chunk in body):
                    if not has_length and self.automatically_set_content_length:
                        header_list = [*header_list, ("Content-Length", str(sum(map(len, body))))]
                    else:
                        header_list = list(header_list)
                    start_response(self._status, header_list)
                    return body
        return super().__call__(environ, start_response)

    @property
    def max_cookie_size(self) -> int:  # type: ignore[override]
        """The ``MAX_COOKIE_SIZE`` config value, or werkzeug's default outside an app."""
        app_ctx = _cv_app.get(None)
        if app_ctx is not None:
            return app_ctx.app.config["MAX_COOKIE_SIZE"]  # type: ignore[no-any-return]
        return super().max_cookie_size


_content_types: dict[str | None, str | None] = {}


def _content_type_for(mimetype: str | None) -> str | None:
    """The ``Content-Type`` werkzeug would build for ``mimetype``, memoised."""
    try:
        return _content_types[mimetype]
    except KeyError:
        value = None if mimetype is None else get_content_type(mimetype, "utf-8")
        if len(_content_types) < 64:  # mimetypes are few; don't grow without bound
            _content_types[mimetype] = value
        return value


# The base classes decide for themselves here; subclasses in __init_subclass__. The members a
# shortcut skips are werkzeug's, which these classes inherit unchanged.
_fastpaths.decide(Request, Request)
_fastpaths.decide(Response, Response)
