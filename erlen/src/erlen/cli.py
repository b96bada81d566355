"""The ``erlen`` command line: finding and loading the app, and the built-in commands.

The command reads ``ERLEN_*`` environment variables first and Flask's ``FLASK_*`` names as a
fallback, so a project moving from Flask keeps its ``.flaskenv`` and shell settings.
"""

from __future__ import annotations

import ast
import collections.abc as cabc
import importlib.metadata
import inspect
import os
import platform
import re
import sys
import traceback
import typing as t
from functools import update_wrapper
from types import ModuleType

import click
from click.core import ParameterSource
from werkzeug.serving import is_running_from_reloader
from werkzeug.serving import run_simple
from werkzeug.utils import import_string

from .globals import _cv_app
from .globals import current_app
from .helpers import get_debug_flag
from .helpers import get_load_dotenv

if t.TYPE_CHECKING:  # pragma: no cover
    import ssl

    from _typeshed.wsgi import StartResponse
    from _typeshed.wsgi import WSGIApplication
    from _typeshed.wsgi import WSGIEnvironment

    from .app import Erlen

F = t.TypeVar("F", bound=t.Callable[..., t.Any])

# Entry-point groups scanned for extra commands; Flask extensions register under the first.
_PLUGIN_GROUPS = ("flask.commands", "erlen.commands")


class NoAppException(click.UsageError):
    """Raised if an application cannot be found or loaded."""


def _app_class() -> type[Erlen]:
    # Imported late: the app module imports this one (for ``AppGroup``).
    from .app import Erlen

    return Erlen


def _call_failed_before_entering(func: t.Callable[..., t.Any]) -> bool:
    """Tell whether the ``TypeError`` being handled came from calling ``func`` itself.

    If ``func``'s own frame is in the traceback, the call succeeded and the error was raised
    by code inside the factory, which must not be hidden.
    """
    tb = sys.exc_info()[2]

    try:
        return all(frame.f_code is not func.__code__ for frame, _ in traceback.walk_tb(tb))
    finally:
        # The traceback references this frame; drop it to avoid a reference cycle.
        del tb


def find_best_app(module: ModuleType) -> Erlen:
    """Find the application in ``module``, or raise :exc:`NoAppException`.

    Looks for ``app`` or ``application``, then for the only app instance in the module, then
    for a ``create_app`` or ``make_app`` factory that can be called without arguments.
    """
    app_class = _app_class()
    name = module.__name__

    for attr in ("app", "application"):
        candidate = getattr(module, attr, None)

        if isinstance(candidate, app_class):
            return candidate

    found = [value for value in vars(module).values() if isinstance(value, app_class)]

    if len(found) > 1:
        raise NoAppException(
            f"Detected multiple Erlen applications in module '{name}'."
            f" Use '{name}:name' to specify the correct one."
        )

    if found:
        return found[0]

    for attr in ("create_app", "make_app"):
        factory = getattr(module, attr, None)

        if not inspect.isfunction(factory):
            continue

        try:
            candidate = factory()
        except TypeError as e:
            if not _call_failed_before_entering(factory):
                raise

            raise NoAppException(
                f"Detected factory '{attr}' in module '{name}', but could not call it"
                f" without arguments. Use '{name}:{attr}(args)' to specify arguments."
            ) from e

        if isinstance(candidate, app_class):
            return candidate

    raise NoAppException(
        f"Failed to find Erlen application or factory in module '{name}'."
        f" Use '{name}:name' to specify one."
    )


def _parse_app_expression(
    app_name: str,
) -> tuple[str, list[t.Any], dict[str, t.Any]]:
    """Split ``name`` or ``factory(args)`` into a name and literal call arguments."""
    try:
        node = ast.parse(app_name.strip(), mode="eval").body
    except SyntaxError:
        node = None

    if isinstance(node, ast.Name):
        return node.id, [], {}

    if not isinstance(node, ast.Call):
        raise NoAppException(f"Failed to parse {app_name!r} as an attribute name or function call.")

    if not isinstance(node.func, ast.Name):
        raise NoAppException(f"Function reference must be a simple name: {app_name!r}.")

    try:
        args = [ast.literal_eval(arg) for arg in node.args]
        kwargs = {kw.arg: ast.literal_eval(kw.value) for kw in node.keywords if kw.arg is not None}
    except ValueError:
        # literal_eval's own message names only the node type; quote the whole expression.
        raise NoAppException(
            f"Failed to parse arguments as literal values: {app_name!r}."
        ) from None

    return node.func.id, args, kwargs


def find_app_by_string(module: ModuleType, app_name: str) -> Erlen:
    """Get the app named by ``app_name`` from ``module``.

    ``app_name`` is an attribute name, or a call of a factory function with literal arguments,
    such as ``create_app("dev", debug=True)``.
    """
    name, args, kwargs = _parse_app_expression(app_name)

    try:
        target = getattr(module, name)
    except AttributeError as e:
        raise NoAppException(f"Failed to find attribute {name!r} in {module.__name__!r}.") from e

    if inspect.isfunction(target):
        try:
            app = target(*args, **kwargs)
        except TypeError as e:
            if not _call_failed_before_entering(target):
                raise

            raise NoAppException(
                f"The factory {app_name!r} in module {module.__name__!r} could not be"
                " called with the specified arguments."
            ) from e
    else:
        app = target

    if isinstance(app, _app_class()):
        return app

    raise NoAppException(
        f"A valid Erlen application was not obtained from '{module.__name__}:{app_name}'."
    )


def prepare_import(path: str) -> str:
    """Turn a file path or dotted name into an importable module name.

    The directory above the outermost package is put first on :data:`sys.path` so the import
    can succeed.
    """
    path = os.path.realpath(path)
    stem, ext = os.path.splitext(path)

    if ext == ".py":
        path = stem

    if os.path.basename(path) == "__init__":
        path = os.path.dirname(path)

    parts: list[str] = []

    # Climb while the directory is a package, collecting the dotted name bottom-up.
    while True:
        path, part = os.path.split(path)
        parts.append(part)

        if not os.path.isfile(os.path.join(path, "__init__.py")):
            break

    if sys.path[0] != path:
        sys.path.insert(0, path)

    return ".".join(reversed(parts))


def _is_missing_module(error: ImportError, module_name: str) -> bool:
    """Whether ``error`` says ``module_name`` (or a package above it) doesn't exist.

    Any other import error happened while running the module's code and must be shown.
    """
    if not isinstance(error, ModuleNotFoundError) or not error.name:
        return False

    return module_name == error.name or module_name.startswith(f"{error.name}.")


@t.overload
def locate_app(
    module_name: str, app_name: str | None, raise_if_not_found: t.Literal[True] = True
) -> Erlen: ...


@t.overload
def locate_app(
    module_name: str, app_name: str | None, raise_if_not_found: t.Literal[False] = ...
) -> Erlen | None: ...


def locate_app(
    module_name: str, app_name: str | None, raise_if_not_found: bool = True
) -> Erlen | None:
    """Import ``module_name`` and find the app in it, by ``app_name`` if given."""
    try:
        __import__(module_name)
    except ImportError as e:
        if not _is_missing_module(e, module_name):
            raise NoAppException(
                f"While importing {module_name!r}, an ImportError was raised:"
                f"\n\n{traceback.format_exc()}"
            ) from None

        if raise_if_not_found:
            raise NoAppException(f"Could not import {module_name!r}.") from None

        return None

    module = sys.modules[module_name]

    if app_name is None:
        return find_best_app(module)

    return find_app_by_string(module, app_name)


def _distribution_version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def get_version(ctx: click.Context, param: click.Parameter, value: t.Any) -> None:
    """Print the Python, Erlen and Werkzeug versions and exit (``--version``)."""
    if not value or ctx.resilient_parsing:
        return

    click.echo(
        f"Python {platform.python_version()}\n"
        f"Erlen {_distribution_version('erlen')}\n"
        f"Werkzeug {_distribution_version('werkzeug')}",
        color=ctx.color,
    )
    ctx.exit()


version_option = click.Option(
    ["--version"],
    help="Show the Erlen version.",
    expose_value=False,
    callback=get_version,
    is_flag=True,
    is_eager=True,
)


# ``module:name``, where a colon followed by a slash is a Windows drive, not the separator.
_APP_PATH_SEPARATOR = re.compile(r":(?![\\/])")


class ScriptInfo:
    """What the command line knows about the application to load.

    :class:`FlaskGroup` creates one as the click context object; commands get it with
    :func:`pass_script_info`, or load the app through :func:`with_appcontext`.

    :param app_import_path: ``module:name`` or ``path/to/file.py:factory(args)``.
    :param create_app: A callable returning the app; takes precedence over the import path.
    :param set_debug_flag: Set the loaded app's debug flag from ``ERLEN_DEBUG``/``FLASK_DEBUG``.
    :param load_dotenv_defaults: Whether the default ``.flaskenv`` and ``.env`` files should be
        loaded. Recorded here for the option that does the loading.
    """

    def __init__(
        self,
        app_import_path: str | None = None,
        create_app: t.Callable[..., Erlen] | None = None,
        set_debug_flag: bool = True,
        load_dotenv_defaults: bool = True,
    ) -> None:
        #: Where to import the app from, when ``create_app`` isn't given.
        self.app_import_path = app_import_path
        #: A callable that returns the app.
        self.create_app = create_app
        #: Arbitrary data that commands want to share through the script info.
        self.data: dict[t.Any, t.Any] = {}
        self.set_debug_flag = set_debug_flag
        #: Whether the default dotenv files should be loaded; the skip variable wins.
        self.load_dotenv_defaults = get_load_dotenv(load_dotenv_defaults)
        self._loaded_app: Erlen | None = None

    def load_app(self) -> Erlen:
        """Load the application once and return it; later calls return the same app."""
        if self._loaded_app is not None:
            return self._loaded_app

        app: Erlen | None

        if self.create_app is not None:
            app = self.create_app()
        elif self.app_import_path:
            path, *name = _APP_PATH_SEPARATOR.split(self.app_import_path, maxsplit=1)
            app = locate_app(prepare_import(path), name[0] if name else None)
        else:
            app = None

            for default_file in ("wsgi.py", "app.py"):
                app = locate_app(prepare_import(default_file), None, raise_if_not_found=False)

                if app is not None:
                    break

        if app is None:
            raise NoAppException(
                "Could not locate an Erlen application. Use the 'erlen --app' option,"
                " the 'ERLEN_APP' or 'FLASK_APP' environment variable, or a 'wsgi.py' or"
                " 'app.py' file in the current directory."
            )

        if self.set_debug_flag:
            # Assign through the property so settings derived from debug follow it.
            app.debug = get_debug_flag()

        self._loaded_app = app
        return app


pass_script_info = click.make_pass_decorator(ScriptInfo, ensure=True)


def with_appcontext(f: F) -> F:
    """Run the decorated command callback inside the script's application context.

    Commands registered on ``app.cli`` or a blueprint's ``cli`` already get a context, so they
    don't need this. The context stays pushed for subcommands too.
    """

    @click.pass_context
    def run_in_app_context(ctx: click.Context, /, *args: t.Any, **kwargs: t.Any) -> t.Any:
        if _cv_app.get(None) is None:
            app = ctx.ensure_object(ScriptInfo).load_app()
            ctx.with_resource(app.app_context())

        return ctx.invoke(f, *args, **kwargs)

    # Copying ``__dict__`` carries click's pending ``__click_params__`` over to the wrapper.
    return update_wrapper(run_in_app_context, f)  # type: ignore[return-value]


class AppGroup(click.Group):
    """A click group whose commands run in the application context by default.

    Pass ``with_appcontext=False`` to :meth:`command` to opt out. Subgroups made with
    :meth:`group` are :class:`AppGroup` as well. Not to be confused with :class:`FlaskGroup`.
    """

    @t.overload
    def command(self, __func: t.Callable[..., t.Any]) -> click.Command: ...

    @t.overload
    def command(
        self, *args: t.Any, **kwargs: t.Any
    ) -> t.Callable[[t.Callable[..., t.Any]], click.Command]: ...

    def command(
        self, *args: t.Any, **kwargs: t.Any
    ) -> click.Command | t.Callable[[t.Callable[..., t.Any]], click.Command]:
        """Register a command like :meth:`click.Group.command`, wrapped in
        :func:`with_appcontext` unless ``with_appcontext=False`` is passed.
        """
        wrap = kwargs.pop("with_appcontext", True)

        # Used bare, as ``@group.command``: the only argument is the callback.
        if len(args) == 1 and not kwargs and callable(args[0]):
            return self.command(with_appcontext=wrap)(args[0])

        register: t.Callable[[t.Callable[..., t.Any]], click.Command]
        register = super().command(*args, **kwargs)

        def decorator(f: t.Callable[..., t.Any]) -> click.Command:
            return register(with_appcontext(f) if wrap else f)

        return decorator

    @t.overload
    def group(self, __func: t.Callable[..., t.Any]) -> click.Group: ...

    @t.overload
    def group(
        self, *args: t.Any, **kwargs: t.Any
    ) -> t.Callable[[t.Callable[..., t.Any]], click.Group]: ...

    def group(
        self, *args: t.Any, **kwargs: t.Any
    ) -> click.Group | t.Callable[[t.Callable[..., t.Any]], click.Group]:
        """Register a subgroup like :meth:`click.Group.group`, defaulting ``cls`` to
        :class:`AppGroup`.
        """
        # Used bare, as ``@group.group``: click refuses extra arguments in that form.
        if len(args) == 1 and not kwargs and callable(args[0]):
            return self.group()(args[0])

        kwargs.setdefault("cls", AppGroup)
        register: t.Callable[[t.Callable[..., t.Any]], click.Group]
        register = super().group(*args, **kwargs)
        return register


def _set_app(ctx: click.Context, param: click.Option, value: str | None) -> str | None:
    if value is not None:
        ctx.ensure_object(ScriptInfo).app_import_path = value

    return value


# Eager, and listed before click's eager --help, so ``--help`` can show the app's commands.
# ERLEN_APP is explicit; the group's auto prefix supplies FLASK_APP as the fallback.
_app_option = click.Option(
    ["-A", "--app"],
    metavar="IMPORT",
    envvar="ERLEN_APP",
    help=(
        "The Erlen application or factory function to load, in the form 'module:name'."
        " Module can be a dotted import or file path. Name is not required if it is"
        " 'app', 'application', 'create_app', or 'make_app', and can be 'name(args)' to"
        " pass arguments."
    ),
    is_eager=True,
    expose_value=False,
    callback=_set_app,
)


def _set_debug(ctx: click.Context, param: click.Parameter, value: bool) -> bool | None:
    # An omitted flag reads as False; leave debug to the environment in that case.
    if ctx.get_parameter_source(param.name or "") in {
        ParameterSource.DEFAULT,
        ParameterSource.DEFAULT_MAP,
    }:
        return None

    # Published through the environment, not the script info, so an app factory can read it
    # while it runs. The flag overrides an ERLEN_DEBUG already set, which would win otherwise.
    flag = "1" if value else "0"
    os.environ["FLASK_DEBUG"] = flag

    if "ERLEN_DEBUG" in os.environ:
        os.environ["ERLEN_DEBUG"] = flag

    return value


def _debug_option(envvar: str) -> click.Option:
    return click.Option(
        ["--debug/--no-debug"],
        envvar=envvar,
        help="Set debug mode.",
        expose_value=False,
        callback=_set_debug,
    )


_group_debug_option = _debug_option("ERLEN_DEBUG")


def _dotenv_installed() -> bool:
    try:
        import dotenv  # noqa: F401
    except ImportError:
        return False

    return True


def _env_file_callback(ctx: click.Context, param: click.Option, value: str | None) -> str | None:
    if value is not None and not _dotenv_installed():
        raise click.BadParameter(
            "python-dotenv must be installed to load an env file.", ctx=ctx, param=param
        )

    load_defaults = ctx.ensure_object(ScriptInfo).load_dotenv_defaults

    # Without python-dotenv this still runs, so load_dotenv can print its install hint.
    if value is not None or load_defaults:
        load_dotenv(value, load_defaults=load_defaults)

    return value


# The first eager option, so variables from the files are set before --app and --debug read
# the environment.
_env_file_option = click.Option(
    ["-e", "--env-file"],
    type=click.Path(exists=True, dir_okay=False),
    envvar="ERLEN_ENV_FILE",
    help=(
        "Load environment variables from this file, taking precedence over"
        " those set by '.env' and '.flaskenv'. Variables set directly in the"
        " environment take highest precedence. python-dotenv must be installed."
    ),
    is_eager=True,
    expose_value=False,
    callback=_env_file_callback,
)


class FlaskGroup(AppGroup):
    """The ``erlen`` command group: loads the app and adds the app's own commands.

    Most projects use the ``erlen`` command as is; make an instance for a custom script that
    always loads one app.

    :param add_default_commands: Add the ``run``, ``shell`` and ``routes`` commands.
    :param create_app: A callable returning the app, instead of finding it with ``--app``.
    :param add_version_option: Add the ``--version`` option.
    :param load_dotenv: Load the nearest ``.env`` and ``.flaskenv`` files.
    :param set_debug_flag: Set the app's debug flag from the environment.
    """

    def __init__(
        self,
        add_default_commands: bool = True,
        create_app: t.Callable[..., Erlen] | None = None,
        add_version_option: bool = True,
        load_dotenv: bool = True,
        set_debug_flag: bool = True,
        **extra: t.Any,
    ) -> None:
        # Behaviour lives in option callbacks rather than a group callback, so a custom group
        # callback doesn't lose it. --env-file goes first: it must run before --app.
        params: list[click.Parameter] = [
            *(extra.pop("params", None) or ()),
            _env_file_option,
            _app_option,
            _group_debug_option,
        ]

        if add_version_option:
            params.append(version_option)

        context_settings = extra.setdefault("context_settings", {})
        context_settings.setdefault("auto_envvar_prefix", "FLASK")
        super().__init__(params=params, **extra)

        self.create_app = create_app
        self.load_dotenv = load_dotenv
        self.set_debug_flag = set_debug_flag
        self._loaded_plugin_commands = False

        if add_default_commands:
            self.add_command(run_command)
            self.add_command(shell_command)
            self.add_command(routes_command)

    def _load_plugin_commands(self) -> None:
        if self._loaded_plugin_commands:
            return

        for group in _PLUGIN_GROUPS:
            for entry_point in importlib.metadata.entry_points(group=group):
                self.add_command(entry_point.load(), entry_point.name)

        self._loaded_plugin_commands = True

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        """Find a built-in or plugin command, else one of the loaded app's commands."""
        self._load_plugin_commands()

        # Built-in and plugin commands work even when the app can't be loaded.
        command = super().get_command(ctx, name)

        if command is not None:
            return command

        try:
            app = ctx.ensure_object(ScriptInfo).load_app()
        except NoAppException as e:
            click.secho(f"Error: {e.format_message()}\n", err=True, fg="red")
            return None

        # Push the app's context now, so the command's parameter callbacks can use it too.
        app_ctx = _cv_app.get(None)

        if app_ctx is None or app_ctx.app is not app:
            ctx.with_resource(app.app_context())

        return app.cli.get_command(ctx, name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        """List built-in, plugin and app commands; report an app that fails to load."""
        self._load_plugin_commands()
        names = set(super().list_commands(ctx))

        try:
            names.update(ctx.ensure_object(ScriptInfo).load_app().cli.list_commands(ctx))
        except NoAppException as e:
            # A usage problem (no app found): the message is enough.
            click.secho(f"Error: {e.format_message()}\n", err=True, fg="red")
        except Exception:
            # A bug in the app: the traceback is needed to fix it.
            click.secho(f"{traceback.format_exc()}\n", err=True, fg="red")

        return sorted(names)

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: t.Any,
    ) -> click.Context:
        """Create the context, with a :class:`ScriptInfo` object unless one is given."""
        # Makes app.run() a no-op: a module calling it at import time would otherwise start a
        # server while the command is only loading the app.
        os.environ["FLASK_RUN_FROM_CLI"] = "true"

        if "obj" not in extra and "obj" not in self.context_settings:
            extra["obj"] = ScriptInfo(
                create_app=self.create_app,
                set_debug_flag=self.set_debug_flag,
                load_dotenv_defaults=self.load_dotenv,
            )

        return super().make_context(info_name, args, parent=parent, **extra)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        """Parse arguments; read ``--env-file`` and ``--app`` early when only help is shown."""
        help_only = not args and self.no_args_is_help
        help_only = help_only or (len(args) == 1 and args[0] in self.get_help_option_names(ctx))

        if help_only:
            # Help short-circuits option processing, but listing the app's commands needs the
            # env file loaded and the app path (possibly from the environment) known.
            _env_file_option.handle_parse_result(ctx, {}, [])
            _app_option.handle_parse_result(ctx, {}, [])

        return super().parse_args(ctx, args)


def load_dotenv(path: str | os.PathLike[str] | None = None, load_defaults: bool = True) -> bool:
    """Set environment variables from dotenv files.

    ``path`` takes precedence over ``.env``, which takes precedence over ``.flaskenv`` (the
    nearest of each, searching up from the working directory). A variable already in
    :data:`os.environ` is never overwritten. Does nothing without python-dotenv.

    :param path: A file to load.
    :param load_defaults: Also search for and load ``.flaskenv`` and ``.env``.
    :return: Whether any variable was read from a file.
    """
    try:
        import dotenv
    except ImportError:
        if path or os.path.isfile(".env") or os.path.isfile(".flaskenv"):
            click.secho(
                " * Tip: There are .env files present. Install python-dotenv to use them.",
                fg="yellow",
                err=True,
            )

        return False

    values: dict[str, str | None] = {}
    files: list[str | os.PathLike[str]] = []

    if load_defaults:
        files.extend(found for name in (".flaskenv", ".env") if (found := _find_dotenv(name)))

    if path is not None and os.path.isfile(path):
        files.append(path)

    # Later files override earlier ones, giving the documented precedence.
    for file in files:
        values.update(dotenv.dotenv_values(file, encoding="utf-8"))

    for key, value in values.items():
        if value is not None and key not in os.environ:
            os.environ[key] = value

    return bool(values)


def _find_dotenv(name: str) -> str:
    import dotenv

    return str(dotenv.find_dotenv(name, usecwd=True))


def show_server_banner(debug: bool, app_import_path: str | None) -> None:
    """Print the app and debug mode, unless this is the reloader's restarted process."""
    if is_running_from_reloader():
        return

    if app_import_path is not None:
        click.echo(f" * Serving Erlen app '{app_import_path}'")

    if debug is not None:
        click.echo(f" * Debug mode: {'on' if debug else 'off'}")


class CertParamType(click.ParamType):  # type: ignore[type-arg]
    """The ``--cert`` type: an existing file, ``adhoc``, or the import path of an
    :class:`ssl.SSLContext`.
    """

    name = "path"

    def __init__(self) -> None:
        self.path_type = click.Path(exists=True, dir_okay=False, resolve_path=True)

    def convert(
        self, value: t.Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> t.Any:
        """Return the resolved file path, ``"adhoc"``, or the imported context."""
        try:
            import ssl
        except ImportError:
            raise click.BadParameter(
                'Using "--cert" requires Python to be compiled with SSL support.', ctx, param
            ) from None

        try:
            return self.path_type(value, param, ctx)
        except click.BadParameter:
            name = click.STRING(value, param, ctx).lower()

            if name == "adhoc":
                try:
                    import cryptography  # noqa: F401
                except ImportError:
                    raise click.BadParameter(
                        "Using ad-hoc certificates requires the cryptography library.",
                        ctx,
                        param,
                    ) from None

                return name

            context = import_string(value, silent=True)

            if isinstance(context, ssl.SSLContext):
                return context

            # Neither a file, "adhoc" nor a context: report the missing file.
            raise


def _validate_key(ctx: click.Context, param: click.Parameter, value: t.Any) -> t.Any:
    """Check ``--key`` against ``--cert``, and merge a file pair into ``cert=(cert, key)``."""
    cert = ctx.params.get("cert")
    is_adhoc = cert == "adhoc"

    try:
        import ssl
    except ImportError:
        is_context = False
    else:
        is_context = isinstance(cert, ssl.SSLContext)

    if value is None:
        if cert and not (is_adhoc or is_context):
            raise click.BadParameter('Required when using "--cert".', ctx, param)

        return value

    if is_adhoc:
        raise click.BadParameter('When "--cert" is "adhoc", "--key" is not used.', ctx, param)

    if is_context:
        raise click.BadParameter(
            'When "--cert" is an SSLContext object, "--key" is not used.', ctx, param
        )

    if not cert:
        raise click.BadParameter('"--cert" must also be specified.', ctx, param)

    ctx.params["cert"] = (cert, value)
    return value


class SeparatedPathType(click.Path):
    """A list of paths separated by :data:`os.pathsep`, each checked as a :class:`click.Path`."""

    def convert(
        self, value: t.Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> t.Any:
        """Split the value and convert each item."""
        convert_one = super().convert
        return [convert_one(item, param, ctx) for item in self.split_envvar_value(value)]


@click.command("run", short_help="Run a development server.")
@click.option(
    "--host", "-h", default="127.0.0.1", envvar="ERLEN_RUN_HOST", help="The interface to bind to."
)
@click.option("--port", "-p", default=5000, envvar="ERLEN_RUN_PORT", help="The port to bind to.")
@click.option(
    "--cert",
    type=CertParamType(),
    envvar="ERLEN_RUN_CERT",
    help="Specify a certificate file to use HTTPS.",
    is_eager=True,
)
@click.option(
    "--key",
    type=click.Path(exists=True, dir_okay=False, resolve_path=True),
    envvar="ERLEN_RUN_KEY",
    callback=_validate_key,
    expose_value=False,
    help="The key file to use when specifying a certificate.",
)
@click.option(
    "--reload/--no-reload",
    default=None,
    envvar="ERLEN_RUN_RELOAD",
    help="Enable or disable the reloader. By default the reloader is active if debug is enabled.",
)
@click.option(
    "--debugger/--no-debugger",
    default=None,
    envvar="ERLEN_RUN_DEBUGGER",
    help="Enable or disable the debugger. By default the debugger is active if debug is enabled.",
)
@click.option(
    "--with-threads/--without-threads",
    default=True,
    envvar="ERLEN_RUN_WITH_THREADS",
    help="Enable or disable multithreading.",
)
@click.option(
    "--extra-files",
    default=None,
    type=SeparatedPathType(),
    envvar="ERLEN_RUN_EXTRA_FILES",
    help=(
        "Extra files that trigger a reload on change. Multiple paths"
        f" are separated by {os.path.pathsep!r}."
    ),
)
@click.option(
    "--exclude-patterns",
    default=None,
    type=SeparatedPathType(),
    envvar="ERLEN_RUN_EXCLUDE_PATTERNS",
    help=(
        "Files matching these fnmatch patterns will not trigger a reload"
        f" on change. Multiple patterns are separated by {os.path.pathsep!r}."
    ),
)
@pass_script_info
def run_command(
    info: ScriptInfo,
    host: str,
    port: int,
    reload: bool | None,
    debugger: bool | None,
    with_threads: bool,
    cert: ssl.SSLContext | tuple[str, str | None] | t.Literal["adhoc"] | None,
    extra_files: list[str] | None,
    exclude_patterns: list[str] | None,
) -> None:
    """Run a local development server.

    This server is for development purposes only. It does not provide
    the stability, security, or performance of production WSGI servers.

    The reloader and debugger are enabled by default with the '--debug'
    option.
    """
    app: WSGIApplication

    try:
        app = info.load_app()
    except Exception as e:
        if not is_running_from_reloader():
            # First start: fail the command so the user sees the error.
            raise e from None

        # Under the reloader, keep serving so that fixing the file triggers a reload; show the
        # error now and raise it on each request, where the debugger can display it.
        traceback.print_exc()
        error = e

        def app(environ: WSGIEnvironment, start_response: StartResponse) -> cabc.Iterable[bytes]:
            raise error from None

    debug = get_debug_flag()
    show_server_banner(debug, info.app_import_path)
    run_simple(
        host,
        port,
        app,
        use_reloader=debug if reload is None else reload,
        use_debugger=debug if debugger is None else debugger,
        threaded=with_threads,
        ssl_context=cert,
        extra_files=extra_files,
        exclude_patterns=exclude_patterns,
    )


run_command.params.insert(0, _debug_option("ERLEN_RUN_DEBUG"))


@click.command("shell", short_help="Run a shell in the app context.")
@with_appcontext
def shell_command() -> None:
    """Run an interactive Python shell in the context of a given
    Erlen application.  The application will populate the default
    namespace of this shell according to its configuration.

    This is useful for executing small snippets of management code
    without having to manually configure the application.
    """
    import code

    app = _cv_app.get().app
    namespace: dict[str, t.Any] = {}
    startup = os.environ.get("PYTHONSTARTUP")

    # Honour the user's interpreter startup file, as the plain ``python`` prompt does.
    if startup and os.path.isfile(startup):
        with open(startup) as f:
            exec(compile(f.read(), startup, "exec"), namespace)

    namespace.update(app.make_shell_context())
    interactive_hook = getattr(sys, "__interactivehook__", None)

    if interactive_hook is not None:
        # The default hook sets up readline; its completer would complete names from
        # ``__main__`` (this package's), so point it at the shell's namespace instead.
        try:
            import readline
            from rlcompleter import Completer
        except ImportError:
            pass
        else:
            readline.set_completer(Completer(namespace).complete)

        interactive_hook()

    code.interact(
        banner=(
            f"Python {sys.version} on {sys.platform}\n"
            f"App: {app.import_name}\n"
            f"Instance: {app.instance_path}"
        ),
        local=namespace,
    )


@click.command("routes", short_help="Show the routes for the app.")
@click.option(
    "--sort",
    "-s",
    type=click.Choice(("endpoint", "methods", "domain", "rule", "match")),
    default="endpoint",
    help=(
        "Method to sort routes by. 'match' is the order that Erlen will match routes"
        " when dispatching a request."
    ),
)
@click.option("--all-methods", is_flag=True, help="Show HEAD and OPTIONS methods.")
@with_appcontext
def routes_command(sort: str, all_methods: bool) -> None:
    """Show all registered routes with endpoints and methods."""
    url_map = current_app.url_map
    rules = list(url_map.iter_rules())

    if not rules:
        click.echo("No routes were registered.")
        return

    hidden_methods = set() if all_methods else {"HEAD", "OPTIONS"}

    def domain(rule: t.Any) -> str:
        return str((rule.host if url_map.host_matching else rule.subdomain) or "")

    show_domain = any(domain(rule) for rule in rules)

    def methods(rule: t.Any) -> str:
        return ", ".join(sorted((rule.methods or set()) - hidden_methods))

    columns: list[tuple[str, str, t.Callable[[t.Any], str]]] = [
        ("endpoint", "Endpoint", lambda rule: str(rule.endpoint)),
        ("methods", "Methods", methods),
    ]

    if show_domain:
        columns.append(("domain", "Host" if url_map.host_matching else "Subdomain", domain))

    columns.append(("rule", "Rule", lambda rule: str(rule.rule)))
    rows = [[cell(rule) for _, _, cell in columns] for rule in rules]
    keys = [key for key, _, _ in columns]

    # "match" keeps the map's own order; so does "domain" when there is no domain column.
    if sort in keys:
        index = keys.index(sort)
        rows.sort(key=lambda row: row[index])

    headers = [title for _, title, _ in columns]
    widths = [max(len(row[i]) for row in [headers, *rows]) for i in range(len(headers))]

    for row in [headers, ["-" * width for width in widths], *rows]:
        cells = (cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        click.echo("  ".join(cells).rstrip())


cli = FlaskGroup(
    name="erlen",
    help="""\
A general utility script for Erlen applications.

An application to load must be given with the '--app' option,
'ERLEN_APP' or 'FLASK_APP' environment variable, or with a 'wsgi.py'
or 'app.py' file in the current directory.
""",
)


def main() -> None:
    """Run the ``erlen`` command."""
    cli.main()


if __name__ == "__main__":
    main()
