"""Behaviour of :class:`erlen.config.Config` and :class:`erlen.config.ConfigAttribute`."""

from __future__ import annotations

import json
import os
import sys
import textwrap
import tomllib
import types
from datetime import timedelta
from pathlib import Path

import pytest

from erlen import Erlen
from erlen.config import Config
from erlen.config import ConfigAttribute


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return Config(tmp_path)


@pytest.fixture
def clean_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    """Start from an environment without any FLASK_/APP_ variables."""
    for name in list(os.environ):
        if name.startswith(("FLASK_", "APP_")):
            monkeypatch.delenv(name)


# from_object


def test_from_object_takes_only_upper_case_attributes_of_a_class_and_its_bases(
    config: Config,
) -> None:
    class Base:
        DATABASE = "sqlite://"

    class Settings(Base):
        SECRET_KEY = "s3cret"
        helper = "not a setting"
        MixedCase = "not a setting either"

    config.from_object(Settings)

    assert config == {"DATABASE": "sqlite://", "SECRET_KEY": "s3cret"}


def test_from_object_imports_a_dotted_name(config: Config, monkeypatch: pytest.MonkeyPatch) -> None:
    module = types.ModuleType("erlen_test_settings_module")
    module.GREETING = "hello"  # type: ignore[attr-defined]
    module.lower = "ignored"  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, module.__name__, module)

    config.from_object("erlen_test_settings_module")

    assert config == {"GREETING": "hello"}


def test_from_object_with_a_dict_loads_nothing(config: Config) -> None:
    config.from_object({"KEY": "value"})

    assert "KEY" not in config


# from_pyfile


def test_from_pyfile_resolves_relative_names_against_root_path(
    config: Config, tmp_path: Path
) -> None:
    (tmp_path / "settings.cfg").write_text(
        "import os\nDEBUG = True\nPORT = 8000 + 80\nhelper = os.sep\n"
    )

    assert config.from_pyfile("settings.cfg") is True
    assert config == {"DEBUG": True, "PORT": 8080}


def test_from_pyfile_gives_the_file_its_own_path_as_dunder_file(
    config: Config, tmp_path: Path
) -> None:
    (tmp_path / "settings.py").write_text("HERE = __file__\n")

    config.from_pyfile("settings.py")

    assert config["HERE"] == os.path.join(tmp_path, "settings.py")


@pytest.mark.parametrize("encoding", ["utf-8", "iso-8859-15", "latin-1"])
def test_from_pyfile_honours_the_coding_declaration(
    config: Config, tmp_path: Path, encoding: str
) -> None:
    path = tmp_path / "settings.py"
    path.write_text(f'# -*- coding: {encoding} -*-\nNAME = "Müller"\n', encoding)

    config.from_pyfile(os.fspath(path))

    assert config["NAME"] == "Müller"


def test_from_pyfile_missing_file_raises_with_an_explanation(config: Config) -> None:
    with pytest.raises(OSError) as exc_info:
        config.from_pyfile("missing.cfg")

    message = str(exc_info.value)
    assert message.startswith(
        "[Errno 2] Unable to load configuration file (No such file or directory):"
    )
    assert message.endswith("missing.cfg'")


def test_from_pyfile_silent_returns_false_for_missing_file_or_directory(
    config: Config, tmp_path: Path
) -> None:
    (tmp_path / "a_file").write_text("")

    assert config.from_pyfile("missing.cfg", silent=True) is False
    assert config.from_pyfile(os.fspath(tmp_path), silent=True) is False
    assert config.from_pyfile("a_file/below_a_file.cfg", silent=True) is False


def test_from_pyfile_silent_still_raises_errors_in_the_file(config: Config, tmp_path: Path) -> None:
    (tmp_path / "broken.cfg").write_text("VALUE = 1 / 0\n")

    with pytest.raises(ZeroDivisionError):
        config.from_pyfile("broken.cfg", silent=True)


# from_envvar


def test_from_envvar_loads_the_file_the_variable_names(
    config: Config, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "prod.cfg").write_text("ENV_NAME = 'prod'\n")
    monkeypatch.setenv("ERLEN_TEST_SETTINGS", os.fspath(tmp_path / "prod.cfg"))

    assert config.from_envvar("ERLEN_TEST_SETTINGS") is True
    assert config["ENV_NAME"] == "prod"


@pytest.mark.parametrize("value", [None, ""])
def test_from_envvar_unset_or_empty_raises_runtime_error(
    config: Config, monkeypatch: pytest.MonkeyPatch, value: str | None
) -> None:
    if value is None:
        monkeypatch.delenv("ERLEN_TEST_SETTINGS", raising=False)
    else:
        monkeypatch.setenv("ERLEN_TEST_SETTINGS", value)

    with pytest.raises(RuntimeError, match="'ERLEN_TEST_SETTINGS' is not set"):
        config.from_envvar("ERLEN_TEST_SETTINGS")
    assert config.from_envvar("ERLEN_TEST_SETTINGS", silent=True) is False


def test_from_envvar_pointing_at_a_missing_file(
    config: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ERLEN_TEST_SETTINGS", "missing.cfg")

    with pytest.raises(OSError, match="Unable to load configuration file"):
        config.from_envvar("ERLEN_TEST_SETTINGS")
    assert config.from_envvar("ERLEN_TEST_SETTINGS", silent=True) is False


# from_file


def test_from_file_loads_json_text_and_keeps_upper_case_keys(
    config: Config, tmp_path: Path
) -> None:
    (tmp_path / "config.json").write_text('{"SECRET_KEY": "abc", "lower": 1}')

    assert config.from_file("config.json", load=json.load) is True
    assert config == {"SECRET_KEY": "abc"}


def test_from_file_in_binary_mode_loads_toml(config: Config, tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text('SECRET_KEY = "abc"\nLIMIT = 3\n')

    assert config.from_file("config.toml", load=tomllib.load, text=False) is True
    assert config == {"SECRET_KEY": "abc", "LIMIT": 3}


def test_from_file_missing(config: Config) -> None:
    with pytest.raises(OSError) as exc_info:
        config.from_file("missing.json", load=json.load)

    message = str(exc_info.value)
    assert message.startswith(
        "[Errno 2] Unable to load configuration file (No such file or directory):"
    )
    assert message.endswith("missing.json'")
    assert config.from_file("missing.json", load=json.load, silent=True) is False


# from_mapping


def test_from_mapping_accepts_a_mapping_pairs_or_keywords(config: Config) -> None:
    assert config.from_mapping({"A": 1, "b": 2}) is True
    config.from_mapping([("B", 2), ("c", 3)])
    config.from_mapping(C=3, d=4)

    assert config == {"A": 1, "B": 2, "C": 3}


def test_from_mapping_keywords_win_over_the_mapping(config: Config) -> None:
    config.from_mapping({"KEY": "mapping"}, KEY="keyword")

    assert config["KEY"] == "keyword"


def test_from_mapping_rejects_two_positional_mappings(config: Config) -> None:
    with pytest.raises(TypeError):
        config.from_mapping({}, {})  # type: ignore[call-arg]


# from_prefixed_env


@pytest.mark.usefixtures("clean_environ")
def test_from_prefixed_env_parses_json_values(
    config: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLASK_STRING", "plain text")
    monkeypatch.setenv("FLASK_BOOL", "false")
    monkeypatch.setenv("FLASK_INT", "42")
    monkeypatch.setenv("FLASK_FLOAT", "0.5")
    monkeypatch.setenv("FLASK_LIST", '["a", 1]')
    monkeypatch.setenv("FLASK_OBJ", '{"k": null}')
    monkeypatch.setenv("NOTFLASK_OTHER", "1")

    assert config.from_prefixed_env() is True
    assert config == {
        "STRING": "plain text",
        "BOOL": False,
        "INT": 42,
        "FLOAT": 0.5,
        "LIST": ["a", 1],
        "OBJ": {"k": None},
    }


@pytest.mark.usefixtures("clean_environ")
def test_from_prefixed_env_uses_the_given_prefix_and_loader(
    config: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLASK_PORT", "1")
    monkeypatch.setenv("APP_PORT", "2")
    monkeypatch.setenv("APP_NAME", "erlen")

    config.from_prefixed_env("APP", loads=str.upper)

    assert config == {"PORT": "2", "NAME": "ERLEN"}


@pytest.mark.usefixtures("clean_environ")
def test_from_prefixed_env_double_underscore_sets_nested_keys(
    config: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    config["DB"] = {"HOST": "localhost", "PORT": 5432, "OPTIONS": {"ssl": True}}
    monkeypatch.setenv("FLASK_DB__HOST", "db.internal")
    monkeypatch.setenv("FLASK_DB__OPTIONS__timeout", "5")
    monkeypatch.setenv("FLASK_DB__POOL__SIZE", "10")
    monkeypatch.setenv("FLASK_CACHE__TYPE", "redis")

    config.from_prefixed_env()

    assert config["DB"] == {
        "HOST": "db.internal",
        "PORT": 5432,
        "OPTIONS": {"ssl": True, "timeout": 5},
        "POOL": {"SIZE": 10},
    }
    assert config["CACHE"] == {"TYPE": "redis"}


@pytest.mark.usefixtures("clean_environ")
def test_from_prefixed_env_applies_variables_in_sorted_order(
    config: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    # FLASK_DB sorts before FLASK_DB__PORT, so the nested key is set inside the new dict.
    monkeypatch.setenv("FLASK_DB__PORT", "1")
    monkeypatch.setenv("FLASK_DB", '{"HOST": "h"}')

    config.from_prefixed_env()

    assert config["DB"] == {"HOST": "h", "PORT": 1}


# get_namespace and repr


def test_get_namespace_trims_and_lowercases_by_default(config: Config) -> None:
    config.from_mapping(
        STORE_TYPE="fs", STORE_BASE_URL="http://img", OTHER_STORE_TYPE="s3", STORE="x"
    )

    assert config.get_namespace("STORE_") == {"type": "fs", "base_url": "http://img"}
    assert config.get_namespace("STORE_", lowercase=False) == {
        "TYPE": "fs",
        "BASE_URL": "http://img",
    }
    assert config.get_namespace("STORE_", trim_namespace=False) == {
        "store_type": "fs",
        "store_base_url": "http://img",
    }
    assert config.get_namespace("STORE_", lowercase=False, trim_namespace=False) == {
        "STORE_TYPE": "fs",
        "STORE_BASE_URL": "http://img",
    }


def test_repr_names_the_class_and_shows_the_items(tmp_path: Path) -> None:
    class MyConfig(Config):
        pass

    assert repr(Config(tmp_path, {"A": 1})) == "<Config {'A': 1}>"
    assert repr(MyConfig(tmp_path)) == "<MyConfig {}>"


def test_defaults_are_copied_and_root_path_kept(tmp_path: Path) -> None:
    defaults = {"A": 1}
    config = Config(tmp_path, defaults)
    config["A"] = 2

    assert defaults == {"A": 1}
    assert config.root_path == tmp_path
    assert isinstance(config, dict)


def test_from_object_loads_a_module_object() -> None:
    source = textwrap.dedent(
        """
        DEBUG = False
        SECRET_KEY = "development key"
        """
    )
    module = types.ModuleType("example")
    exec(source, module.__dict__)
    config = Config("/")
    config.from_object(module)

    assert config == {"DEBUG": False, "SECRET_KEY": "development key"}


# ConfigAttribute


class _Holder(Erlen):
    """An app with two attributes of its own forwarding to config keys."""

    flag = ConfigAttribute[bool]("FLAG")
    lifetime = ConfigAttribute[timedelta](
        "LIFETIME", get_converter=lambda v: timedelta(seconds=v) if isinstance(v, int) else v
    )

    def __init__(self) -> None:
        super().__init__(__name__)
        self.config.update(FLAG=False, LIFETIME=60)


def test_config_attribute_reads_and_writes_the_config_key() -> None:
    holder = _Holder()

    assert holder.flag is False
    holder.flag = True

    assert holder.config["FLAG"] is True
    assert holder.flag is True


def test_config_attribute_converter_applies_on_read_only() -> None:
    holder = _Holder()

    assert holder.lifetime == timedelta(seconds=60)
    holder.lifetime = 30
    assert holder.config["LIFETIME"] == 30
    assert holder.lifetime == timedelta(seconds=30)


def test_config_attribute_on_the_class_is_the_descriptor() -> None:
    descriptor = _Holder.__dict__["flag"]

    assert _Holder.flag is descriptor
    assert descriptor.__name__ == "FLAG"


# Integration with the application


def test_app_config_is_a_config_rooted_at_the_app() -> None:
    import erlen

    app = erlen.Erlen(__name__)

    assert isinstance(app.config, Config)
    assert app.config.root_path == app.root_path


def test_app_uses_its_config_class() -> None:
    import erlen

    class MyConfig(Config):
        pass

    class MyApp(erlen.Erlen):
        config_class = MyConfig

    app = MyApp(__name__)
    app.config.from_mapping(SECRET_KEY="k")

    assert isinstance(app.config, MyConfig)
    assert app.secret_key == "k"


def test_app_attributes_forward_to_config_keys() -> None:
    import erlen

    app = erlen.Erlen(__name__)
    app.testing = True
    app.config["PERMANENT_SESSION_LIFETIME"] = 42

    assert app.config["TESTING"] is True
    assert app.permanent_session_lifetime == timedelta(seconds=42)
