"""erlen's public surface: the names it exports and the module paths Flask users import.

The expected names are written out here rather than read from Flask, so that any change to
the API shows up in review as a change to this file.
"""

from __future__ import annotations
import __future__

import importlib
import importlib.util
import types

import pytest

import erlen

# Every name ``flask`` 3.1.3 exports from its package, and nothing else but ``Erlen``.
FLASK_TOP_LEVEL_NAMES = {
    "Blueprint",
    "Config",
    "Flask",
    "Request",
    "Response",
    "abort",
    "after_this_request",
    "appcontext_popped",
    "appcontext_pushed",
    "appcontext_tearing_down",
    "before_render_template",
    "copy_current_request_context",
    "current_app",
    "flash",
    "g",
    "get_flashed_messages",
    "get_template_attribute",
    "got_request_exception",
    "has_app_context",
    "has_request_context",
    "json",
    "jsonify",
    "make_response",
    "message_flashed",
    "redirect",
    "render_template",
    "render_template_string",
    "request",
    "request_finished",
    "request_started",
    "request_tearing_down",
    "send_file",
    "send_from_directory",
    "session",
    "stream_template",
    "stream_template_string",
    "stream_with_context",
    "template_rendered",
    "url_for",
}
ERLEN_ONLY_TOP_LEVEL_NAMES = {"Erlen"}

# Module path -> names Flask 3.1.3 defines there (its own classes, functions, type variables
# and objects; not what it merely imports).
FLASK_MODULE_NAMES: dict[str, set[str]] = {
    "app": {
        "Flask",
        "T_shell_context_processor",
        "T_teardown",
        "T_template_filter",
        "T_template_global",
        "T_template_test",
    },
    "blueprints": {"Blueprint", "BlueprintSetupState"},
    "cli": {
        "AppGroup",
        "CertParamType",
        "FlaskGroup",
        "NoAppException",
        "ScriptInfo",
        "SeparatedPathType",
        "cli",
        "find_app_by_string",
        "find_best_app",
        "get_version",
        "load_dotenv",
        "locate_app",
        "main",
        "pass_script_info",
        "prepare_import",
        "routes_command",
        "run_command",
        "shell_command",
        "show_server_banner",
        "version_option",
        "with_appcontext",
    },
    "config": {"Config", "ConfigAttribute"},
    "ctx": {
        "AppContext",
        "RequestContext",
        "after_this_request",
        "copy_current_request_context",
        "has_app_context",
        "has_request_context",
    },
    "debughelpers": {
        "DebugFilesKeyError",
        "FormDataRoutingRedirect",
        "UnexpectedUnicodeError",
        "attach_enctype_error_multidict",
        "explain_template_loading_attempts",
    },
    "globals": {"app_ctx", "current_app", "g", "request", "request_ctx", "session"},
    "helpers": {
        "abort",
        "flash",
        "get_debug_flag",
        "get_flashed_messages",
        "get_load_dotenv",
        "get_root_path",
        "get_template_attribute",
        "make_response",
        "redirect",
        "send_file",
        "send_from_directory",
        "stream_with_context",
        "url_for",
    },
    "json": {"dump", "dumps", "jsonify", "load", "loads"},
    "json.provider": {"DefaultJSONProvider", "JSONProvider"},
    "json.tag": {
        "JSONTag",
        "PassDict",
        "PassList",
        "TagBytes",
        "TagDateTime",
        "TagDict",
        "TagMarkup",
        "TagTuple",
        "TagUUID",
        "TaggedJSONSerializer",
    },
    "logging": {"create_logger", "default_handler", "has_level_handler", "wsgi_errors_stream"},
    "sansio.app": {
        "App",
        "T_shell_context_processor",
        "T_teardown",
        "T_template_filter",
        "T_template_global",
        "T_template_test",
    },
    "sansio.blueprints": {
        "Blueprint",
        "BlueprintSetupState",
        "DeferredSetupFunction",
        "T_after_request",
        "T_before_request",
        "T_error_handler",
        "T_teardown",
        "T_template_context_processor",
        "T_template_filter",
        "T_template_global",
        "T_template_test",
        "T_url_defaults",
        "T_url_value_preprocessor",
    },
    "sansio.scaffold": {
        "Scaffold",
        "T_after_request",
        "T_before_request",
        "T_error_handler",
        "T_route",
        "T_teardown",
        "T_template_context_processor",
        "T_url_defaults",
        "T_url_value_preprocessor",
        "find_package",
        "get_root_path",
        "setupmethod",
    },
    "sessions": {
        "NullSession",
        "SecureCookieSession",
        "SecureCookieSessionInterface",
        "SessionInterface",
        "SessionMixin",
        "session_json_serializer",
    },
    "signals": {
        "appcontext_popped",
        "appcontext_pushed",
        "appcontext_tearing_down",
        "before_render_template",
        "got_request_exception",
        "message_flashed",
        "request_finished",
        "request_started",
        "request_tearing_down",
        "template_rendered",
    },
    "templating": {
        "DispatchingJinjaLoader",
        "Environment",
        "render_template",
        "render_template_string",
        "stream_template",
        "stream_template_string",
    },
    "testing": {"EnvironBuilder", "FlaskCliRunner", "FlaskClient"},
    "typing": {
        "AfterRequestCallable",
        "AppOrBlueprintKey",
        "BeforeFirstRequestCallable",
        "BeforeRequestCallable",
        "ErrorHandlerCallable",
        "HeaderValue",
        "HeadersValue",
        "ResponseClass",
        "ResponseReturnValue",
        "ResponseValue",
        "RouteCallable",
        "ShellContextProcessorCallable",
        "TeardownCallable",
        "TemplateContextProcessorCallable",
        "TemplateFilterCallable",
        "TemplateGlobalCallable",
        "TemplateTestCallable",
        "URLDefaultCallable",
        "URLValuePreprocessorCallable",
    },
    "views": {"MethodView", "View", "http_method_funcs"},
    "wrappers": {"Request", "Response"},
}

# Module path -> the public names erlen adds beyond Flask's, for extensions to build on.
ERLEN_MODULE_NAMES: dict[str, set[str]] = {
    "globals": {
        "current_app_context",
        "current_request_context",
        "get_app",
        "get_app_context",
        "get_request_context",
    },
    "ext.problems": {
        "APIAwareHTTPException",
        "DEFAULT_API_PREFIXES",
        "PROBLEM_MIMETYPE",
        "api_prefixes",
        "error_page_response",
        "error_response",
        "is_api_request",
        "problem_response",
        "status_title",
    },
}


def _exported_names(module: types.ModuleType) -> set[str]:
    """The public names a package binds, leaving out submodules imported as a side effect."""
    names = set()
    for name, value in vars(module).items():
        if name.startswith("_"):
            continue
        if isinstance(value, __future__._Feature):  # ``from __future__ import annotations``
            continue
        if isinstance(value, types.ModuleType) and name != "json":
            continue
        names.add(name)
    return names


def test_package_exports_exactly_flasks_names_plus_erlen() -> None:
    assert _exported_names(erlen) == FLASK_TOP_LEVEL_NAMES | ERLEN_ONLY_TOP_LEVEL_NAMES


@pytest.mark.parametrize("name", sorted(FLASK_TOP_LEVEL_NAMES))
def test_every_flask_top_level_name_is_importable(name: str) -> None:
    namespace: dict[str, object] = {}
    exec(f"from erlen import {name}", namespace)
    assert namespace[name] is getattr(erlen, name)


def test_flask_is_the_erlen_class() -> None:
    assert erlen.Flask is erlen.Erlen
    from erlen.app import Erlen
    from erlen.app import Flask

    assert Flask is Erlen is erlen.Erlen


def test_json_is_the_erlen_json_module() -> None:
    assert isinstance(erlen.json, types.ModuleType)
    assert erlen.json.__name__ == "erlen.json"
    assert erlen.jsonify is erlen.json.jsonify


@pytest.mark.parametrize("module_path", sorted(FLASK_MODULE_NAMES))
def test_flask_module_paths_exist_under_erlen(module_path: str) -> None:
    module = importlib.import_module(f"erlen.{module_path}")
    assert module.__name__ == f"erlen.{module_path}"


@pytest.mark.parametrize(
    ("module_path", "name"),
    sorted((path, name) for path, names in FLASK_MODULE_NAMES.items() for name in names),
)
def test_flask_module_level_names_exist_under_erlen(module_path: str, name: str) -> None:
    module = importlib.import_module(f"erlen.{module_path}")
    assert hasattr(module, name), f"erlen.{module_path} has no {name!r}"


@pytest.mark.parametrize(
    ("module_path", "name"),
    sorted((path, name) for path, names in ERLEN_MODULE_NAMES.items() for name in names),
)
def test_erlen_module_level_names_exist(module_path: str, name: str) -> None:
    module = importlib.import_module(f"erlen.{module_path}")
    assert hasattr(module, name), f"erlen.{module_path} has no {name!r}"


def test_package_can_run_as_a_module() -> None:
    # ``python -m erlen`` needs erlen/__main__.py; importing it would start the CLI.
    assert importlib.util.find_spec("erlen.__main__") is not None


def test_sansio_package_exists() -> None:
    sansio = importlib.import_module("erlen.sansio")
    assert sansio.__name__ == "erlen.sansio"


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("erlen.app", "Flask"),
        ("erlen.app", "Erlen"),
        ("erlen.sansio.app", "App"),
        ("erlen.sansio.scaffold", "Scaffold"),
        ("erlen.sansio.blueprints", "Blueprint"),
        ("erlen.blueprints", "Blueprint"),
        ("erlen.ctx", "AppContext"),
        ("erlen.ctx", "RequestContext"),
        ("erlen.wrappers", "Request"),
        ("erlen.wrappers", "Response"),
    ],
)
def test_core_classes_live_where_flask_users_import_them(path: str, name: str) -> None:
    cls = getattr(importlib.import_module(path), name)
    assert isinstance(cls, type)


def test_top_level_names_are_the_core_objects() -> None:
    from erlen.app import Erlen
    from erlen.blueprints import Blueprint
    from erlen.globals import current_app
    from erlen.globals import g
    from erlen.globals import request
    from erlen.globals import session
    from erlen.wrappers import Request
    from erlen.wrappers import Response

    assert erlen.Erlen is Erlen
    assert erlen.Blueprint is Blueprint
    assert erlen.Request is Request
    assert erlen.Response is Response
    assert erlen.current_app is current_app
    assert erlen.g is g
    assert erlen.request is request
    assert erlen.session is session


def test_class_hierarchy_matches_flask() -> None:
    from werkzeug.wrappers import Request as WerkzeugRequest
    from werkzeug.wrappers import Response as WerkzeugResponse

    from erlen.blueprints import Blueprint
    from erlen.sansio.app import App
    from erlen.sansio.blueprints import Blueprint as SansioBlueprint
    from erlen.sansio.scaffold import Scaffold

    assert issubclass(erlen.Erlen, App)
    assert issubclass(App, Scaffold)
    assert issubclass(Blueprint, SansioBlueprint)
    assert issubclass(SansioBlueprint, Scaffold)
    assert issubclass(erlen.Request, WerkzeugRequest)
    assert issubclass(erlen.Response, WerkzeugResponse)


def test_signals_are_blinker_signals_with_flasks_names() -> None:
    from blinker import NamedSignal

    expected = {
        "appcontext_popped": "appcontext-popped",
        "appcontext_pushed": "appcontext-pushed",
        "appcontext_tearing_down": "appcontext-tearing-down",
        "before_render_template": "before-render-template",
        "got_request_exception": "got-request-exception",
        "message_flashed": "message-flashed",
        "request_finished": "request-finished",
        "request_started": "request-started",
        "request_tearing_down": "request-tearing-down",
        "template_rendered": "template-rendered",
    }
    for attr, signal_name in expected.items():
        signal = getattr(erlen, attr)
        assert isinstance(signal, NamedSignal)
        assert signal.name == signal_name


def test_app_default_config_has_flasks_keys_and_defaults_and_ours() -> None:
    from datetime import timedelta

    expected = {
        "DEBUG": None,
        "TESTING": False,
        "PROPAGATE_EXCEPTIONS": None,
        "SECRET_KEY": None,
        "SECRET_KEY_FALLBACKS": None,
        "PERMANENT_SESSION_LIFETIME": timedelta(days=31),
        "USE_X_SENDFILE": False,
        "TRUSTED_HOSTS": None,
        "SERVER_NAME": None,
        "APPLICATION_ROOT": "/",
        "SESSION_COOKIE_NAME": "session",
        "SESSION_COOKIE_DOMAIN": None,
        "SESSION_COOKIE_PATH": None,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SECURE": False,
        "SESSION_COOKIE_PARTITIONED": False,
        "SESSION_COOKIE_SAMESITE": None,
        "SESSION_REFRESH_EACH_REQUEST": True,
        "MAX_CONTENT_LENGTH": None,
        "MAX_FORM_MEMORY_SIZE": 500_000,
        "MAX_FORM_PARTS": 1_000,
        "SEND_FILE_MAX_AGE_DEFAULT": None,
        "TRAP_BAD_REQUEST_ERRORS": None,
        "TRAP_HTTP_EXCEPTIONS": False,
        "EXPLAIN_TEMPLATE_LOADING": False,
        "PREFERRED_URL_SCHEME": "http",
        "TEMPLATES_AUTO_RELOAD": None,
        "MAX_COOKIE_SIZE": 4093,
        "PROVIDE_AUTOMATIC_OPTIONS": True,
    }
    # erlen's own, off by default: trusted reverse proxies (erlen.proxy).
    ours = {"TRUSTED_PROXIES": None, "TRUSTED_PROXY_HOPS": 1}
    assert dict(erlen.Erlen.default_config) == expected | ours


def test_app_has_the_attributes_flask_code_relies_on() -> None:
    app = erlen.Erlen("api_surface")
    for attr in (
        "config",
        "json",
        "jinja_env",
        "session_interface",
        "url_map",
        "response_class",
        "request_class",
        "name",
        "import_name",
        "root_path",
        "instance_path",
        "blueprints",
        "extensions",
        "cli",
        "aborter",
        "logger",
        "view_functions",
        "error_handler_spec",
        "before_request_funcs",
        "after_request_funcs",
        "teardown_request_funcs",
        "teardown_appcontext_funcs",
        "url_value_preprocessors",
        "url_default_functions",
        "template_context_processors",
        "shell_context_processors",
        "url_build_error_handlers",
        "test_client_class",
        "test_cli_runner_class",
        "app_ctx_globals_class",
        "jinja_options",
        "jinja_environment",
        "permanent_session_lifetime",
        "secret_key",
        "testing",
        "debug",
        "static_folder",
        "static_url_path",
        "template_folder",
        "has_static_folder",
        "subdomain_matching",
    ):
        assert hasattr(app, attr), attr


def test_version_attribute_is_flask_s_deprecated_one() -> None:
    """``erlen.__version__`` answers the Flask version whose API erlen implements, with
    Flask's deprecation warning, so extensions' version checks take the modern path.
    """
    import importlib.metadata

    with pytest.deprecated_call(match="'__version__' attribute is deprecated"):
        assert erlen.__version__ == "3.1.3"
    assert importlib.metadata.version("erlen") != "3.1.3"
    with pytest.raises(AttributeError):
        erlen.no_such_name  # noqa: B018
