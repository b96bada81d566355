"""Jinja integration: the app's environment, its template loader, and the render functions."""

from __future__ import annotations

import typing as t
from collections import ChainMap

from jinja2 import BaseLoader
from jinja2 import Environment as BaseEnvironment
from jinja2 import Template
from jinja2 import TemplateNotFound

from . import _fastpaths
from .globals import _cv_app
from .globals import _cv_request
from .globals import current_app
from .helpers import stream_with_context
from .signals import before_render_template
from .signals import template_rendered

if t.TYPE_CHECKING:  # pragma: no cover
    from .app import Erlen
    from .sansio.app import App
    from .sansio.scaffold import Scaffold

# What a loader's get_source returns: source, file name, and an "is it up to date" check.
_Source = tuple[str, str | None, t.Callable[[], bool] | None]


def _default_template_ctx_processor() -> dict[str, t.Any]:
    """Provide ``g`` and ``request`` to every template.

    The concrete objects are passed rather than the proxies, so templates skip a lookup on
    each use. ``session`` is left to the global proxy on purpose: reading it through the
    request context is what marks the session accessed (and adds ``Vary: Cookie``).
    """
    context: dict[str, t.Any] = {}
    app_ctx = _cv_app.get(None)
    if app_ctx is not None:
        context["g"] = app_ctx.g
    req_ctx = _cv_request.get(None)
    if req_ctx is not None:
        context["request"] = req_ctx.request
    return context


class _TemplateGlobals(ChainMap[str, t.Any]):
    """A template's globals over the environment's, as Jinja's ``ChainMap``, looked up
    without raising ``KeyError`` from the first map.

    Every render copies these into the new context (``dict(globals)``), one lookup per
    name; with Jinja's plain ``ChainMap`` most of those lookups raise and catch a
    ``KeyError`` in the template's own (usually empty) map first.
    """

    def __getitem__(self, key: str) -> t.Any:
        for mapping in self.maps:
            if key in mapping:
                return mapping[key]
        return self.__missing__(key)


# Names a dict instance resolves as attributes (its methods and dunders); everything else
# is only reachable as an item.
_DICT_ATTRIBUTES = frozenset(dir(dict))


class Environment(BaseEnvironment):
    """A Jinja environment bound to an app.

    Unless a ``loader`` is given, it loads templates through
    :meth:`~erlen.Erlen.create_global_jinja_loader`, which looks in the app's and every
    blueprint's template folder.
    """

    # Shortcuts this class takes, decided when it is created (see erlen._fastpaths).
    _fast_dict_getattr: t.ClassVar[bool]
    _fast_template_globals: t.ClassVar[bool]

    def __init_subclass__(cls, **kwargs: t.Any) -> None:
        super().__init_subclass__(**kwargs)
        _fastpaths.decide(cls, Environment)

    def __init__(self, app: App, **options: t.Any) -> None:
        if "loader" not in options:
            options["loader"] = app.create_global_jinja_loader()
        super().__init__(**options)
        self.app = app

    def make_globals(self, d: t.MutableMapping[str, t.Any] | None) -> t.MutableMapping[str, t.Any]:
        """A template's globals: ``d`` layered over the environment's (as Jinja does)."""
        if not self._fast_template_globals:
            return super().make_globals(d)
        return _TemplateGlobals({} if d is None else d, self.globals)

    def getattr(self, obj: t.Any, attribute: str) -> t.Any:
        """Look up ``obj.attribute`` for a template, falling back to ``obj[attribute]``.

        Same result as Jinja's lookup. For a plain ``dict`` (the usual template data) whose
        class has no such attribute, it goes to the item directly instead of raising and
        catching an ``AttributeError`` first, which is most of the cost of ``{{ row.name }}``.
        """
        if self._fast_dict_getattr and type(obj) is dict and attribute not in _DICT_ATTRIBUTES:
            try:
                return obj[attribute]
            except KeyError:
                return self.undefined(obj=obj, name=attribute)
        return super().getattr(obj, attribute)


_fastpaths.decide(Environment, Environment)


class DispatchingJinjaLoader(BaseLoader):
    """Find templates in the app's template folder first, then in each blueprint's.

    With ``EXPLAIN_TEMPLATE_LOADING`` set, every loader is tried and the attempts are logged,
    to help find out why a template is, or isn't, picked up.
    """

    def __init__(self, app: App) -> None:
        self.app = app

    def get_source(self, environment: BaseEnvironment, template: str) -> _Source:
        """Return the first source any loader has for ``template``."""
        if self.app.config["EXPLAIN_TEMPLATE_LOADING"]:
            return self._get_source_explained(environment, template)

        for _owner, loader in self._iter_loaders(template):
            try:
                return loader.get_source(environment, template)
            except TemplateNotFound:
                continue
        raise TemplateNotFound(template)

    def _get_source_explained(self, environment: BaseEnvironment, template: str) -> _Source:
        """Ask every loader, log what each answered, and return the first hit."""
        from .debughelpers import explain_template_loading_attempts

        attempts: list[tuple[BaseLoader, Scaffold, _Source | None]] = []
        found: _Source | None = None
        for owner, loader in self._iter_loaders(template):
            try:
                source: _Source | None = loader.get_source(environment, template)
            except TemplateNotFound:
                source = None
            if found is None:
                found = source
            attempts.append((loader, owner, source))

        explain_template_loading_attempts(self.app, template, attempts)

        if found is None:
            raise TemplateNotFound(template)
        return found

    def _iter_loaders(self, template: str) -> t.Iterator[tuple[Scaffold, BaseLoader]]:
        """Yield ``(owner, loader)`` for the app, then each blueprint, that has a loader."""
        app_loader = self.app.jinja_loader
        if app_loader is not None:
            yield self.app, app_loader

        for blueprint in self.app.iter_blueprints():
            blueprint_loader = blueprint.jinja_loader
            if blueprint_loader is not None:
                yield blueprint, blueprint_loader

    def list_templates(self) -> list[str]:
        """List every template name any of the loaders knows, without duplicates."""
        names: set[str] = set()
        for _owner, loader in self._iter_loaders(""):
            names.update(loader.list_templates())
        return list(names)


def _current_app() -> Erlen:
    """Return the active app, with the usual error when there is none."""
    return current_app._get_current_object()  # type: ignore[no-any-return, attr-defined]


def _render(app: Erlen, template: Template, context: dict[str, t.Any]) -> str:
    """Render ``template`` after adding the app's context, sending the template signals."""
    app.update_template_context(context)
    if before_render_template.receivers:
        before_render_template.send(
            app, _async_wrapper=app.ensure_sync, template=template, context=context
        )
    rendered = template.render(context)
    if template_rendered.receivers:
        template_rendered.send(
            app, _async_wrapper=app.ensure_sync, template=template, context=context
        )
    return rendered


def render_template(
    template_name_or_list: str | Template | list[str | Template],
    **context: t.Any,
) -> str:
    """Render a template by name with the given context.

    :param template_name_or_list: The template name. Given a list, the first template that
        exists is rendered.
    :param context: The variables the template can use.
    """
    app = _current_app()
    template = app.jinja_env.get_or_select_template(template_name_or_list)
    return _render(app, template, context)


def render_template_string(source: str, **context: t.Any) -> str:
    """Render a template given as a source string, with the given context.

    :param source: The template's source code.
    :param context: The variables the template can use.
    """
    app = _current_app()
    template = app.jinja_env.from_string(source)
    return _render(app, template, context)


def _stream(app: Erlen, template: Template, context: dict[str, t.Any]) -> t.Iterator[str]:
    """Render ``template`` piece by piece, sending ``template_rendered`` once it is done."""
    app.update_template_context(context)
    if before_render_template.receivers:
        before_render_template.send(
            app, _async_wrapper=app.ensure_sync, template=template, context=context
        )

    def generate() -> t.Iterator[str]:
        yield from template.generate(context)
        if template_rendered.receivers:
            template_rendered.send(
                app, _async_wrapper=app.ensure_sync, template=template, context=context
            )

    chunks = generate()
    # The body is rendered after the view returns; keep the request available to it.
    if _cv_request.get(None) is not None:
        chunks = stream_with_context(chunks)
    return chunks


def stream_template(
    template_name_or_list: str | Template | list[str | Template],
    **context: t.Any,
) -> t.Iterator[str]:
    """Render a template by name as an iterator of strings, for a streamed response.

    :param template_name_or_list: The template name. Given a list, the first template that
        exists is rendered.
    :param context: The variables the template can use.
    """
    app = _current_app()
    template = app.jinja_env.get_or_select_template(template_name_or_list)
    return _stream(app, template, context)


def stream_template_string(source: str, **context: t.Any) -> t.Iterator[str]:
    """Render a template source string as an iterator of strings, for a streamed response.

    :param source: The template's source code.
    :param context: The variables the template can use.
    """
    app = _current_app()
    template = app.jinja_env.from_string(source)
    return _stream(app, template, context)
