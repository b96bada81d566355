"""Application configuration: a ``dict`` that knows how to fill itself.

:class:`Config` loads upper-case settings from Python files, objects, data files, mappings and
environment variables. :class:`ConfigAttribute` exposes one config key as an attribute of the
application (``app.debug``, ``app.testing``, ...).
"""

from __future__ import annotations

import errno
import json
import os
import types
import typing as t

from werkzeug.utils import import_string

if t.TYPE_CHECKING:  # pragma: no cover
    import typing_extensions as te

    from .sansio.app import App

T = t.TypeVar("T")

# ``from_pyfile`` treats a path that cannot name a file as "missing" when silent; ``from_file``
# keeps Flask's narrower set.
_PYFILE_MISSING = frozenset((errno.ENOENT, errno.EISDIR, errno.ENOTDIR))
_DATAFILE_MISSING = frozenset((errno.ENOENT, errno.EISDIR))


class ConfigAttribute(t.Generic[T]):
    """Make an attribute of the application read and write one config key.

    :param name: The config key to forward to.
    :param get_converter: Applied to the stored value on every read, e.g. to turn seconds into
        a :class:`~datetime.timedelta`. Writes store the value unchanged.
    """

    def __init__(self, name: str, get_converter: t.Callable[[t.Any], T] | None = None) -> None:
        self.__name__ = name
        self.get_converter = get_converter

    @t.overload
    def __get__(self, obj: None, owner: type[App] | None = None) -> te.Self: ...

    @t.overload
    def __get__(self, obj: App, owner: type[App]) -> T: ...

    def __get__(self, obj: App | None, owner: type[App] | None = None) -> T | te.Self:
        if obj is None:
            # Accessed on the class: hand back the descriptor for introspection.
            return self

        value = obj.config[self.__name__]
        convert = self.get_converter
        if convert is None:
            return value  # type: ignore[no-any-return]
        return convert(value)

    def __set__(self, obj: App, value: t.Any) -> None:
        obj.config[self.__name__] = value


class Config(dict):  # type: ignore[type-arg]
    """A ``dict`` of settings with helpers to load it from files, objects and the environment.

    Only upper-case names are taken from objects, Python files and mappings, so a config module
    can keep lower-case helper variables that never reach the config.

    .. code-block:: python

        app.config.from_object("yourapp.default_settings")
        app.config.from_envvar("YOURAPP_SETTINGS", silent=True)
        app.config.from_prefixed_env()

    :param root_path: Relative file names are resolved against this folder. For the config an
        application creates, it is the application's :attr:`~erlen.Erlen.root_path`.
    :param defaults: Initial values.
    """

    def __init__(
        self,
        root_path: str | os.PathLike[str],
        defaults: dict[str, t.Any] | None = None,
    ) -> None:
        super().__init__(defaults or {})
        self.root_path = root_path

    def from_envvar(self, variable_name: str, silent: bool = False) -> bool:
        """Load the Python config file named by an environment variable.

        A shortcut for ``from_pyfile(os.environ[variable_name])`` with a clearer error.

        :param variable_name: The environment variable holding the file name.
        :param silent: Return ``False`` instead of raising when the variable is unset or empty,
            or the file is missing.
        :return: ``True`` if a file was loaded.
        """
        filename = os.environ.get(variable_name)
        if filename:
            return self.from_pyfile(filename, silent=silent)
        if silent:
            return False
        raise RuntimeError(
            f"The environment variable {variable_name!r} is not set and as such configuration"
            " could not be loaded. Set this variable and make it point to a configuration file"
        )

    def from_prefixed_env(
        self, prefix: str = "FLASK", *, loads: t.Callable[[str], t.Any] = json.loads
    ) -> bool:
        """Load every environment variable named ``{prefix}_KEY`` as the config key ``KEY``.

        Variables are visited in sorted order. Each value goes through ``loads`` (JSON by default)
        so ``"true"``, ``"1"`` or ``'{"a": 1}'`` become Python values; if ``loads`` raises, the
        raw string is kept. A double underscore addresses a key inside a nested dict
        (``FLASK_DB__HOST`` sets ``config["DB"]["HOST"]``), creating missing dicts on the way.

        :param prefix: The prefix, without its trailing underscore.
        :param loads: Turns each raw string into a value.
        :return: Always ``True``.
        """
        head = f"{prefix}_"
        environ = os.environ

        for name in sorted(environ):
            if not name.startswith(head):
                continue

            raw = environ[name]
            try:
                value = loads(raw)
            except Exception:
                # Not loadable: the plain string is the value.
                value = raw

            path = name[len(head) :].split("__")
            target: t.Any = self
            for part in path[:-1]:
                if part not in target:
                    target[part] = {}
                target = target[part]
            target[path[-1]] = value

        return True

    def from_pyfile(self, filename: str | os.PathLike[str], silent: bool = False) -> bool:
        """Execute a Python file and load its upper-case globals, as :meth:`from_object` would.

        :param filename: An absolute path, or one relative to :attr:`root_path`.
        :param silent: Return ``False`` instead of raising when the file does not exist.
        :return: ``True`` if the file was loaded.
        """
        path = os.path.join(self.root_path, filename)
        module = types.ModuleType("config")
        module.__file__ = path
        try:
            # Read bytes so a PEP 263 coding declaration in the file is honoured.
            with open(path, "rb") as f:
                source = f.read()
        except OSError as e:
            if silent and e.errno in _PYFILE_MISSING:
                return False
            e.strerror = f"Unable to load configuration file ({e.strerror})"
            raise
        exec(compile(source, path, "exec"), module.__dict__)
        self.from_object(module)
        return True

    def from_object(self, obj: object | str) -> None:
        """Load the upper-case attributes of a module, class or other object.

        A string is imported first (``"yourapp.settings"`` or ``"yourapp.settings:Prod"``).
        Attributes are read with :func:`getattr`, so inherited class attributes count; a class
        with ``@property`` settings must be instantiated first. A ``dict`` does not work here,
        use :meth:`from_mapping`.

        :param obj: The object, or its import name.
        """
        if isinstance(obj, str):
            obj = import_string(obj)
        for name in dir(obj):
            if name.isupper():
                self[name] = getattr(obj, name)

    def from_file(
        self,
        filename: str | os.PathLike[str],
        load: t.Callable[[t.IO[t.Any]], t.Mapping[str, t.Any]],
        silent: bool = False,
        text: bool = True,
    ) -> bool:
        """Load a data file with ``load`` and pass the result to :meth:`from_mapping`.

        .. code-block:: python

            app.config.from_file("config.json", load=json.load)
            app.config.from_file("config.toml", load=tomllib.load, text=False)

        :param filename: An absolute path, or one relative to :attr:`root_path`.
        :param load: Takes an open file and returns a mapping.
        :param silent: Return ``False`` instead of raising when the file does not exist.
        :param text: Open the file in text mode (``True``) or binary mode.
        :return: ``True`` if the file was loaded.
        """
        path = os.path.join(self.root_path, filename)
        try:
            with open(path, "r" if text else "rb") as f:
                data = load(f)
        except OSError as e:
            if silent and e.errno in _DATAFILE_MISSING:
                return False
            e.strerror = f"Unable to load configuration file ({e.strerror})"
            raise
        return self.from_mapping(data)

    def from_mapping(
        self,
        mapping: t.Mapping[str, t.Any] | t.Iterable[tuple[str, t.Any]] | None = None,
        **kwargs: t.Any,
    ) -> bool:
        """Update the config like :meth:`dict.update`, skipping keys that are not upper case.

        :param mapping: A mapping or an iterable of ``(key, value)`` pairs.
        :param kwargs: More items; they win over ``mapping``.
        :return: Always ``True``.
        """
        items: dict[str, t.Any] = dict(mapping) if mapping is not None else {}
        items.update(kwargs)
        for key, value in items.items():
            if key.isupper():
                self[key] = value
        return True

    def get_namespace(
        self, namespace: str, lowercase: bool = True, trim_namespace: bool = True
    ) -> dict[str, t.Any]:
        """Collect the settings whose keys start with ``namespace`` into a new dict.

        .. code-block:: python

            app.config["STORE_TYPE"] = "fs"
            app.config["STORE_PATH"] = "/var/app"
            app.config.get_namespace("STORE_")  # {"type": "fs", "path": "/var/app"}

        Handy when settings map onto the keyword arguments of a constructor.

        :param namespace: The key prefix to select.
        :param lowercase: Lower-case the keys of the result.
        :param trim_namespace: Remove the prefix from the keys of the result.
        """
        cut = len(namespace) if trim_namespace else 0
        selected: dict[str, t.Any] = {}
        for key, value in self.items():
            if key.startswith(namespace):
                name = key[cut:]
                selected[name.lower() if lowercase else name] = value
        return selected

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {dict.__repr__(self)}>"
