"""The ``SQLAlchemy`` extension: engines per app, ``db.Model``, ``db.session`` and view helpers."""

from __future__ import annotations

import logging
import typing as t
from weakref import WeakKeyDictionary

import sqlalchemy as sa
import sqlalchemy.exc as sa_exc
import sqlalchemy.orm as sa_orm

from erlen.globals import current_app_context
from erlen.globals import get_app
from erlen.helpers import abort

from . import record_queries
from . import track_modifications
from .cli import add_models_to_shell
from .engines import engine_configs
from .engines import ping_after_idle
from .engines import ping_after_idle_seconds
from .model import make_model_class
from .model import Model as _Model
from .pagination import Pagination
from .pagination import SelectPagination
from .query import Query as _Query
from .session import app_ctx_id
from .session import Session
from .table import make_table_class
from .table import TableFactory

if t.TYPE_CHECKING:  # pragma: no cover
    from erlen.app import Erlen

logger = logging.getLogger("erlen.ext.sqlalchemy")

_O = t.TypeVar("_O")
_T = t.TypeVar("_T")

#: ``bind_key`` value meaning "every bind that has models", for :meth:`SQLAlchemy.create_all`.
_ALL_BINDS = "__all__"

_BindKeys = str | None | list[str | None]


class SQLAlchemy:
    """SQLAlchemy 2 for erlen apps, in the manner of Flask-SQLAlchemy.

    ::

        db = SQLAlchemy()

        class User(db.Model):
            id: Mapped[int] = mapped_column(primary_key=True)
            name: Mapped[str]

        db.init_app(app)  # engine from SQLALCHEMY_DATABASE_URI, else DATABASE_URL

    One extension can serve several apps; engines are per app, and ``db.session`` is scoped
    to the current application context and removed when it tears down.

    :param app: Call :meth:`init_app` on this app now.
    :param model_class: What :attr:`Model` is built from: a ``DeclarativeBase`` subclass
        (its metadata and type annotation map are used), or a plain mixin class.
    :param metadata: The metadata of the default bind, e.g. with your own naming convention.
        Without it, constraints are named by :data:`~erlen.ext.sqlalchemy.model.NAMING_CONVENTION`.
    :param engine_options: Defaults for every engine; ``SQLALCHEMY_ENGINE_OPTIONS`` and a
        bind's own options override them.
    :param session_options: Passed to :class:`~sqlalchemy.orm.sessionmaker`; ``scopefunc``
        replaces the app-context scope.
    :param add_models_to_shell: Add ``db`` and every model to ``erlen shell``.
    :param query_class: The legacy query class: ``db.Query``, ``Model.query`` and
        ``db.session.query()``.
    :param disable_autonaming: Don't name tables after their model; every model then sets
        ``__tablename__`` (or ``__table__``) itself.
    """

    #: The declarative base for this extension's models.
    Model: type[_Model]
    #: The session for the current application context.
    session: sa_orm.scoped_session[Session]
    #: ``db.Table(name, *columns, bind_key=None)``: a table in a bind's metadata.
    Table: TableFactory
    #: The legacy query class (``Model.query``, ``db.session.query()``).
    Query: type[_Query[t.Any]]

    def __init__(
        self,
        app: Erlen | None = None,
        *,
        metadata: sa.MetaData | None = None,
        session_options: t.Mapping[str, t.Any] | None = None,
        query_class: type[_Query[t.Any]] = _Query,
        model_class: type | None = None,
        engine_options: t.Mapping[str, t.Any] | None = None,
        add_models_to_shell: bool = True,
        disable_autonaming: bool = False,
    ) -> None:
        self._engine_options = dict(engine_options or {})
        self._add_models_to_shell = add_models_to_shell
        self._disable_autonaming = disable_autonaming
        self._app_engines: WeakKeyDictionary[Erlen, dict[str | None, sa.Engine]]
        self._app_engines = WeakKeyDictionary()
        #: The metadata of each bind key (each configured bind, and each used by a model or
        #: ``db.Table``); ``None`` is the default bind.
        self.metadatas: dict[str | None, sa.MetaData] = {}
        self.Query = query_class
        self.Table = make_table_class(self)

        self.Model = make_model_class(self, model_class, metadata)
        default_metadata = self.Model.metadata
        default_metadata.info["bind_key"] = None
        self.metadatas[None] = default_metadata

        options = dict(session_options or {})
        scopefunc = options.pop("scopefunc", app_ctx_id)
        options.setdefault("class_", Session)
        options.setdefault("query_cls", self.Query)
        factory: sa_orm.sessionmaker[Session] = sa_orm.sessionmaker(db=self, **options)
        self.session = sa_orm.scoped_session(factory, scopefunc=scopefunc)

        if app is not None:
            self.init_app(app)

    def __repr__(self) -> str:
        ctx = current_app_context()
        if ctx is None or ctx.app not in self._app_engines:
            return f"<{type(self).__name__}>"
        engine = self._app_engines[ctx.app].get(None)
        url = engine.url.render_as_string() if engine is not None else "no default bind"
        return f"<{type(self).__name__} {url}>"

    # -- apps and engines --------------------------------------------------------------------

    def init_app(self, app: Erlen) -> None:
        """Create the app's engines and remove the session when its app context ends.

        :raises RuntimeError: If the app already has a ``SQLAlchemy`` extension, or no
            database is configured.
        """
        if "sqlalchemy" in app.extensions:
            raise RuntimeError(
                "A 'SQLAlchemy' instance has already been registered on this app. Import and"
                " use that instance instead."
            )
        engines: dict[str | None, sa.Engine] = {}
        for key, options in engine_configs(app, self._engine_options).items():
            self.bind_metadata(key)
            engine = engines[key] = self._make_engine(key, options, app)
            idle = ping_after_idle_seconds(app, options["url"], options)
            # _make_engine may be overridden to return a wrapper (tests use mocks).
            if idle is not None and isinstance(engine, sa.Engine):
                ping_after_idle(engine, idle)
        self._app_engines[app] = engines
        app.extensions["sqlalchemy"] = self
        app.teardown_appcontext(self._remove_session)
        if self._add_models_to_shell:
            app.shell_context_processor(add_models_to_shell)
        if app.config.get("SQLALCHEMY_RECORD_QUERIES"):
            for engine in engines.values():
                record_queries._listen(engine)
        if app.config.get("SQLALCHEMY_TRACK_MODIFICATIONS"):
            track_modifications._listen(self.session.session_factory)

    def _make_engine(
        self, bind_key: str | None, options: dict[str, t.Any], app: Erlen
    ) -> sa.Engine:
        """Create one engine; ``options`` has the final ``url`` and keyword arguments.

        Override it to change how engines are made (e.g. to wrap them).
        """
        return sa.engine_from_config(options, prefix="")

    def _remove_session(self, exc: BaseException | None) -> None:
        try:
            self.session.remove()
        except BaseException as e:
            # remove() forgets the session only once close() succeeded; one whose close
            # failed must not stay registered for the next context that gets this id.
            self.session.registry.clear()
            if not (isinstance(e, sa_exc.DBAPIError) and e.connection_invalidated):
                raise
            # The database dropped the connection (restarted, or the backend terminated)
            # before the session's rollback: nothing uncommitted outlives a lost connection
            # anyway, and the pool has discarded it. A warning, not the response's problem.
            first_line = (str(e.orig).strip().splitlines() or [type(e.orig).__name__])[0]
            logger.warning(
                "The database connection was lost before the session closed: %s", first_line
            )

    def engines_for(self, app: Erlen) -> t.Mapping[str | None, sa.Engine]:
        """The engines of an app, by bind key; ``None`` is the default bind.

        :raises RuntimeError: If ``init_app`` wasn't called for the app.
        """
        try:
            return self._app_engines[get_app("SQLAlchemy", app)]
        except KeyError:
            raise RuntimeError(
                "The current app is not registered with this 'SQLAlchemy' instance. Did you"
                " forget to call 'init_app', or did you create several 'SQLAlchemy' instances?"
            ) from None

    @property
    def engines(self) -> t.Mapping[str | None, sa.Engine]:
        """The current app's engines, by bind key; ``None`` is the default bind."""
        return self.engines_for(get_app("SQLAlchemy"))

    @property
    def engine(self) -> sa.Engine:
        """The current app's default engine."""
        try:
            return self.engines[None]
        except KeyError:
            raise RuntimeError(
                "The app has no default database; set 'SQLALCHEMY_DATABASE_URI' or 'DATABASE_URL'."
            ) from None

    def get_engine(self, bind_key: str | None = None) -> sa.Engine:
        """The current app's engine for a bind key."""
        try:
            return self.engines[bind_key]
        except KeyError:
            raise sa_exc.UnboundExecutionError(
                f"Bind key {bind_key!r} is not in 'SQLALCHEMY_BINDS' config."
            ) from None

    # -- metadata and schema -----------------------------------------------------------------

    @property
    def metadata(self) -> sa.MetaData:
        """The metadata of the default bind: every model without a ``__bind_key__``."""
        return self.metadatas[None]

    def bind_metadata(self, bind_key: str | None) -> sa.MetaData:
        """The metadata for a bind key's models, created with the default's conventions."""
        try:
            return self.metadatas[bind_key]
        except KeyError:
            default = self.metadatas[None]
            metadata = sa.MetaData(
                schema=default.schema,
                naming_convention=dict(default.naming_convention),  # type: ignore[arg-type]
                info={"bind_key": bind_key},
            )
            self.metadatas[bind_key] = metadata
            return metadata

    def _each_bind(self, bind_key: _BindKeys) -> t.Iterator[tuple[sa.MetaData, sa.Engine]]:
        if bind_key == _ALL_BINDS:
            engines = self.engines
            # The default bind may be unconfigured when every model names another bind.
            keys: list[str | None] = [
                key for key, metadata in self.metadatas.items() if metadata.tables or key in engines
            ]
        elif bind_key is None or isinstance(bind_key, str):
            keys = [bind_key]
        else:
            keys = bind_key
        for key in keys:
            yield self.bind_metadata(key), self.get_engine(key)

    def create_all(self, bind_key: _BindKeys = _ALL_BINDS) -> None:
        """Create the tables that don't exist yet, for every bind or the given ones.

        Needs an app context. Prefer migrations (``erlen db upgrade``) for real databases.
        """
        for metadata, engine in self._each_bind(bind_key):
            metadata.create_all(engine)

    def drop_all(self, bind_key: _BindKeys = _ALL_BINDS) -> None:
        """Drop the models' tables, for every bind or the given ones. Needs an app context."""
        for metadata, engine in self._each_bind(bind_key):
            metadata.drop_all(engine)

    def reflect(self, bind_key: _BindKeys = _ALL_BINDS) -> None:
        """Load the tables that exist in the databases into the metadata."""
        for metadata, engine in self._each_bind(bind_key):
            metadata.reflect(engine)

    # -- view helpers ------------------------------------------------------------------------

    def get_or_404(
        self, entity: type[_O], ident: t.Any, *, description: str | None = None, **kwargs: t.Any
    ) -> _O:
        """The instance with this primary key, or abort with 404 Not Found.

        :param kwargs: Passed to :meth:`sqlalchemy.orm.Session.get`, e.g. ``options=[...]``.
        """
        value = self.session.get(entity, ident, **kwargs)
        if value is None:
            abort(404, description=description)
        return value

    @t.overload
    def first_or_404(self, statement: sa.Select[_T], *, description: str | None = None) -> _T: ...

    @t.overload
    def first_or_404(
        self, statement: sa.Executable, *, description: str | None = None
    ) -> t.Any: ...

    def first_or_404(self, statement: sa.Executable, *, description: str | None = None) -> t.Any:
        """The first result's first column, or abort with 404 Not Found if there are none."""
        value = self.session.execute(statement).scalar()
        if value is None:
            abort(404, description=description)
        return value

    @t.overload
    def one_or_404(self, statement: sa.Select[_T], *, description: str | None = None) -> _T: ...

    @t.overload
    def one_or_404(self, statement: sa.Executable, *, description: str | None = None) -> t.Any: ...

    def one_or_404(self, statement: sa.Executable, *, description: str | None = None) -> t.Any:
        """The only result's first column, or abort with 404 Not Found if there isn't exactly
        one result.
        """
        try:
            return self.session.execute(statement).scalar_one()
        except (sa_exc.NoResultFound, sa_exc.MultipleResultsFound):
            abort(404, description=description)

    def paginate(
        self,
        select: sa.Select[t.Any],
        *,
        page: int | None = None,
        per_page: int | None = None,
        max_per_page: int | None = None,
        error_out: bool = True,
        count: bool = True,
    ) -> Pagination:
        """One page of a ``select()``'s results (its first column), and the page count.

        ``page`` and ``per_page`` default to the request's ``?page=`` and ``?per_page=``
        arguments, else 1 and 20. With ``error_out`` (the default), a bad value (not a whole
        number, or below 1) and an empty page past the first answer 404 Not Found; without it
        they fall back to the defaults. ``per_page`` is lowered to ``max_per_page``.

        :param select: The statement; give it an ``order_by`` so that pages are stable.
        :param page: The page number, starting at 1.
        :param per_page: Items per page.
        :param max_per_page: The most items a page may hold; 100 when ``None``.
        :param error_out: Answer 404 for bad values and pages past the end.
        :param count: Count all rows, for :attr:`Pagination.total` and ``pages``.
        """
        return SelectPagination(
            select=select,
            session=self.session(),
            page=page,
            per_page=per_page,
            max_per_page=max_per_page,
            error_out=error_out,
            count=count,
        )

    # -- Flask-SQLAlchemy's shortcuts ----------------------------------------------------------

    def _set_query_class(self, kwargs: dict[str, t.Any]) -> None:
        # Dynamic relationships (lazy="dynamic") give db.Query, as Model.query does.
        kwargs.setdefault("query_class", self.Query)
        if "backref" in kwargs:
            backref = kwargs["backref"]
            if isinstance(backref, str):
                backref = (backref, {})
            backref[1].setdefault("query_class", self.Query)
            kwargs["backref"] = backref

    def relationship(self, *args: t.Any, **kwargs: t.Any) -> sa_orm.Relationship[t.Any]:
        """:func:`sqlalchemy.orm.relationship`, with ``db.Query`` for dynamic loading."""
        self._set_query_class(kwargs)
        return sa_orm.relationship(*args, **kwargs)

    def dynamic_loader(
        self, argument: t.Any, **kwargs: t.Any
    ) -> sa_orm.RelationshipProperty[t.Any]:
        """:func:`sqlalchemy.orm.dynamic_loader`, with ``db.Query``."""
        self._set_query_class(kwargs)
        return sa_orm.dynamic_loader(argument, **kwargs)

    def backref(self, name: str, **kwargs: t.Any) -> str | tuple[str, dict[str, t.Any]]:
        """:func:`sqlalchemy.orm.backref`, with ``db.Query`` for dynamic loading."""
        kwargs.setdefault("query_class", self.Query)
        return sa_orm.backref(name, **kwargs)

    def __getattr__(self, name: str) -> t.Any:
        """``db.select``, ``db.String``, ``db.relationship`` …: names from ``sqlalchemy`` and
        ``sqlalchemy.orm``, as Flask-SQLAlchemy offers them.
        """
        if name == "relation":
            return self.relationship
        if name == "event":
            return sa.event
        if not name.startswith("_"):
            for module in (sa, sa_orm):
                if hasattr(module, name):
                    return getattr(module, name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
