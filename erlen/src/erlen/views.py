"""Class-based views: :class:`View`, and :class:`MethodView` which dispatches on the HTTP method."""

from __future__ import annotations

import typing as t

from . import typing as ft
from .globals import _cv_app
from .globals import _cv_request
from .globals import current_app
from .globals import request

#: The HTTP methods :class:`MethodView` looks for as lower-case method names.
http_method_funcs = frozenset(["get", "post", "head", "options", "delete", "put", "trace", "patch"])


def _ensure_sync(func: t.Callable[..., t.Any]) -> t.Callable[..., t.Any]:
    ctx = _cv_app.get(None)
    if ctx is None:
        # Go through the proxy for its "Working outside of application context" error.
        return current_app.ensure_sync(func)
    return ctx.app.ensure_sync(func)


class View:
    """A view written as a class: override :meth:`dispatch_request`, register :meth:`as_view`.

    .. code-block:: python

        class Hello(View):
            init_every_request = False

            def dispatch_request(self, name):
                return f"Hello, {name}!"

        app.add_url_rule("/hello/<name>", view_func=Hello.as_view("hello"))

    Class attributes configure the generated view function: :attr:`methods`,
    :attr:`provide_automatic_options`, :attr:`decorators` and :attr:`init_every_request`.
    Decorating the class itself does not decorate the view function; use :attr:`decorators`.
    """

    #: The methods to register the view for. ``None`` means the ``add_url_rule`` default,
    #: ``GET`` (plus ``HEAD`` and ``OPTIONS``).
    methods: t.ClassVar[t.Collection[str] | None] = None

    #: Whether ``OPTIONS`` is answered automatically. ``None`` means the ``add_url_rule``
    #: default, which is yes unless the view handles ``OPTIONS`` itself.
    provide_automatic_options: t.ClassVar[bool | None] = None

    #: Decorators applied to the generated view function, in list order, so the first one ends
    #: up innermost (as if it were written last in ``@decorator`` syntax).
    #:
    decorators: t.ClassVar[list[t.Callable[..., t.Any]]] = []

    #: Build a new instance for every request (the default). Set to ``False`` to create one
    #: instance in :meth:`as_view` and share it; it is faster, but ``self`` then must not hold
    #: per-request data (use :data:`~erlen.g`).
    #:
    init_every_request: t.ClassVar[bool] = True

    def dispatch_request(self) -> ft.ResponseReturnValue:
        """Handle the request and return a response value; URL variables arrive as keyword
        arguments. Subclasses must override it."""
        raise NotImplementedError()

    @classmethod
    def as_view(cls, name: str, *class_args: t.Any, **class_kwargs: t.Any) -> ft.RouteCallable:
        """Return a view function for this class, to pass to ``add_url_rule``.

        The function instantiates the class (with ``class_args`` and ``class_kwargs``) for every
        request, or once now if :attr:`init_every_request` is false, and calls
        :meth:`dispatch_request`; a coroutine method is run through the app's
        :meth:`~erlen.Erlen.ensure_sync`. The class is kept as ``view.view_class``, which is
        also what gets instantiated, so it can be swapped out in tests.

        :param name: The name of the view function, which becomes the default endpoint.
        """
        if cls.init_every_request:

            def view(**kwargs: t.Any) -> ft.ResponseReturnValue:
                instance = view.view_class(*class_args, **class_kwargs)  # type: ignore[attr-defined]
                return _ensure_sync(instance.dispatch_request)(**kwargs)  # type: ignore[no-any-return]

        else:
            shared = cls(*class_args, **class_kwargs)

            def view(**kwargs: t.Any) -> ft.ResponseReturnValue:
                return _ensure_sync(shared.dispatch_request)(**kwargs)  # type: ignore[no-any-return]

        if cls.decorators:
            # Decorators such as functools.wraps read these before the final values are set.
            view.__name__ = name
            view.__module__ = cls.__module__
            for decorator in cls.decorators:
                view = decorator(view)

        view.view_class = cls  # type: ignore[attr-defined]
        view.__name__ = name
        view.__doc__ = cls.__doc__
        view.__module__ = cls.__module__
        view.methods = cls.methods  # type: ignore[attr-defined]
        view.provide_automatic_options = cls.provide_automatic_options  # type: ignore[attr-defined]
        return view


class MethodView(View):
    """Dispatch each request to the method named after its HTTP method (``get``, ``post``, ...).

    :attr:`methods` is filled in from the methods a subclass defines, plus those of its bases,
    unless the subclass sets it explicitly. A ``HEAD`` request falls back to ``get``.

    .. code-block:: python

        class CounterAPI(MethodView):
            def get(self):
                return str(session.get("counter", 0))

            def post(self):
                session["counter"] = session.get("counter", 0) + 1
                return redirect(url_for("counter"))

        app.add_url_rule("/counter", view_func=CounterAPI.as_view("counter"))
    """

    def __init_subclass__(cls, **kwargs: t.Any) -> None:
        super().__init_subclass__(**kwargs)

        if "methods" in cls.__dict__:
            # Set explicitly on this class: respect it as is.
            return

        methods: set[str] = set()
        for base in cls.__bases__:
            inherited = getattr(base, "methods", None)
            if inherited:
                methods.update(inherited)
        for name in http_method_funcs:
            if hasattr(cls, name):
                methods.add(name.upper())

        if methods:
            cls.methods = methods

    def dispatch_request(self, **kwargs: t.Any) -> ft.ResponseReturnValue:
        ctx = _cv_request.get(None)
        # Outside a request, the proxy raises the usual "Working outside of request context".
        method = request.method if ctx is None else ctx.request.method
        handler = getattr(self, method.lower(), None)

        if handler is None and method == "HEAD":
            handler = getattr(self, "get", None)

        assert handler is not None, f"Unimplemented method {method!r}"
        return _ensure_sync(handler)(**kwargs)  # type: ignore[no-any-return]
