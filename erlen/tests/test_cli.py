"""The ``erlen`` command: finding the app, env files, built-in and app commands."""

from __future__ import annotations

import importlib
import os
import platform
import ssl
import sys
import textwrap
import types
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

import erlen
import erlen.cli
from erlen.cli import AppGroup
from erlen.cli import find_app_by_string
from erlen.cli import find_best_app
from erlen.cli import FlaskGroup
from erlen.cli import load_dotenv
from erlen.cli import locate_app
from erlen.cli import NoAppException
from erlen.cli import prepare_import
from erlen.cli import run_command
from erlen.cli import ScriptInfo
from erlen.cli import with_appcontext
from erlen.globals import current_app

# Variables the command line reads or sets; each test starts without them and may not leak.
_CLI_ENV = [
    f"{prefix}_{name}"
    for prefix in ("ERLEN", "FLASK")
    for name in (
        "APP",
        "DEBUG",
        "ENV_FILE",
        "SKIP_DOTENV",
        "RUN_FROM_CLI",
        "RUN_PORT",
        "RUN_HOST",
        "RUN_EXTRA_FILES",
    )
] + ["FOO", "BAR", "BAZ", "WERKZEUG_RUN_MAIN"]


@pytest.fixture(autouse=True)
def _clean_cli_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in _CLI_ENV:
        # setenv first so that undo() also removes a variable the code under test creates.
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)


@pytest.fixture
def modules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A directory on sys.path for throwaway modules, unloaded again after the test."""
    root = tmp_path / "modules"
    root.mkdir()
    # Also makes monkeypatch restore sys.path after prepare_import() changed it.
    monkeypatch.syspath_prepend(str(root))
    monkeypatch.chdir(tmp_path)
    yield root

    for name, module in list(sys.modules.items()):
        if str(getattr(module, "__file__", None) or "").startswith(str(tmp_path)):
            del sys.modules[name]


def write(path: Path, source: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(source), encoding="utf-8")
    return path


APP_MODULE = """\
from erlen import Erlen

app = Erlen("from_file")
"""

FACTORY_MODULE = """\
from erlen import Erlen

def create_app(name="default", *, suffix=""):
    return Erlen(name + suffix)

def broken_factory():
    raise TypeError("bug inside the factory")

def not_an_app():
    return 42
"""


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


# --- finding the module and the app ---------------------------------------------------------


def test_prepare_import_puts_the_directory_above_the_package_on_sys_path(modules: Path) -> None:
    write(modules / "outer" / "__init__.py", "")
    write(modules / "outer" / "inner" / "__init__.py", "")
    target = write(modules / "outer" / "inner" / "views.py", "")

    assert prepare_import(str(target)) == "outer.inner.views"
    assert sys.path[0] == str(modules)
    assert prepare_import(str(modules / "outer" / "inner" / "__init__.py")) == "outer.inner"


def test_prepare_import_keeps_a_dotted_name(modules: Path) -> None:
    assert prepare_import("pkg.module") == "pkg.module"
    assert sys.path[0] == os.getcwd()


def test_missing_module_is_reported_or_ignored_on_request(modules: Path) -> None:
    with pytest.raises(NoAppException, match="Could not import 'nowhere'"):
        locate_app("nowhere", None)

    assert locate_app("nowhere.sub", None, raise_if_not_found=False) is None


def test_import_error_inside_the_module_shows_its_traceback(modules: Path) -> None:
    write(modules / "badimport.py", "import does_not_exist_anywhere\n")

    with pytest.raises(NoAppException) as info:
        locate_app("badimport", None, raise_if_not_found=False)

    message = str(info.value)
    assert "While importing 'badimport', an ImportError was raised" in message
    assert "does_not_exist_anywhere" in message


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("create_app(", "Failed to parse 'create_app(' as an attribute name or function call."),
        ("app.thing", "Failed to parse 'app.thing' as an attribute name or function call."),
        ("obj.make()", "Function reference must be a simple name: 'obj.make()'."),
        ("make(os.sep)", "Failed to parse arguments as literal values: 'make(os.sep)'."),
        ("missing", "Failed to find attribute 'missing' in 'mod'."),
    ],
)
def test_bad_app_expression_explains_the_problem(expression: str, message: str) -> None:
    module = types.ModuleType("mod")

    with pytest.raises(NoAppException) as info:
        find_app_by_string(module, expression)

    assert str(info.value) == message


def test_app_is_found_by_conventional_name_or_as_the_only_instance() -> None:
    named = types.ModuleType("named")
    named.application = erlen.Erlen("application")  # type: ignore[attr-defined]
    named.other = erlen.Erlen("other")  # type: ignore[attr-defined]
    assert find_best_app(named).name == "application"

    single = types.ModuleType("single")
    single.my_app = erlen.Erlen("mine")  # type: ignore[attr-defined]
    assert find_best_app(single).name == "mine"

    several = types.ModuleType("several")
    several.one = erlen.Erlen("one")  # type: ignore[attr-defined]
    several.two = erlen.Erlen("two")  # type: ignore[attr-defined]
    with pytest.raises(NoAppException, match="Detected multiple"):
        find_best_app(several)

    with pytest.raises(NoAppException, match="Failed to find Erlen application or factory"):
        find_best_app(types.ModuleType("empty"))


def test_factory_is_called_when_no_app_instance_exists() -> None:
    module = types.ModuleType("factories")
    module.make_app = lambda **kwargs: erlen.Erlen("made")  # type: ignore[attr-defined]
    assert find_best_app(module).name == "made"

    def create_app(config: str) -> erlen.Erlen:
        return erlen.Erlen(config)

    module.create_app = create_app  # type: ignore[attr-defined]
    with pytest.raises(NoAppException, match=r"Use 'factories:create_app\(args\)'"):
        find_best_app(module)


def test_type_error_raised_inside_a_factory_is_not_hidden(modules: Path) -> None:
    write(modules / "factories.py", FACTORY_MODULE)

    with pytest.raises(TypeError, match="bug inside the factory"):
        locate_app("factories", "broken_factory")


def test_factory_call_with_literal_arguments(modules: Path) -> None:
    write(modules / "factories.py", FACTORY_MODULE)

    assert locate_app("factories", ' create_app("x", suffix="-y", ) ').name == "x-y"
    assert locate_app("factories", "create_app").name == "default"

    with pytest.raises(NoAppException, match="could not be called with the specified"):
        locate_app("factories", "create_app(1, 2, 3)")

    with pytest.raises(NoAppException, match="A valid Erlen application was not obtained"):
        locate_app("factories", "not_an_app")


def test_script_info_loads_from_a_file_path_once(modules: Path) -> None:
    path = write(modules / "site" / "factories.py", FACTORY_MODULE)

    info = ScriptInfo(app_import_path=f"{path}:create_app('from_path')")
    app = info.load_app()

    assert app.name == "from_path"
    assert info.load_app() is app


def test_script_info_falls_back_to_wsgi_py_then_app_py(modules: Path, tmp_path: Path) -> None:
    with pytest.raises(NoAppException, match="ERLEN_APP' or 'FLASK_APP"):
        ScriptInfo().load_app()

    write(tmp_path / "app.py", APP_MODULE)
    importlib.invalidate_caches()  # the failed lookup above cached the directory listing
    assert ScriptInfo().load_app().name == "from_file"


def test_script_info_sets_debug_from_erlen_debug_before_flask_debug(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FLASK_DEBUG", "1")
    monkeypatch.setenv("ERLEN_DEBUG", "0")
    assert ScriptInfo(create_app=lambda: erlen.Erlen("a")).load_app().debug is False

    monkeypatch.delenv("ERLEN_DEBUG")
    assert ScriptInfo(create_app=lambda: erlen.Erlen("a")).load_app().debug is True

    app = erlen.Erlen("b")
    app.debug = True
    assert ScriptInfo(create_app=lambda: app, set_debug_flag=False).load_app().debug is True


# --- the command group ------------------------------------------------------------------------


def test_app_option_and_erlen_app_variable_select_the_app(
    modules: Path, runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(modules / "factories.py", FACTORY_MODULE)
    group = FlaskGroup()

    @group.command()
    def name() -> None:
        click.echo(current_app.name)

    result = runner.invoke(group, ["--app", "factories:create_app('cli')", "name"])
    assert result.output == "cli\n"

    monkeypatch.setenv("FLASK_APP", "factories:create_app('flask')")
    assert runner.invoke(FlaskGroup(commands=[name]), ["name"]).output == "flask\n"

    monkeypatch.setenv("ERLEN_APP", "factories:create_app('erlen')")
    assert runner.invoke(FlaskGroup(commands=[name]), ["name"]).output == "erlen\n"


def test_app_commands_run_in_the_app_context_with_parameter_callbacks(runner: CliRunner) -> None:
    app = erlen.Erlen("with_commands")

    def seen_app(ctx: click.Context, param: click.Parameter, value: str) -> str:
        return current_app.name

    @app.cli.command()
    @click.argument("value", callback=seen_app)
    def show(value: str) -> None:
        info = click.get_current_context().find_object(ScriptInfo)
        same = info is not None and info.load_app() is current_app._get_current_object()  # type: ignore[attr-defined]
        click.echo(f"{value} {same}")

    result = runner.invoke(FlaskGroup(create_app=lambda: app), ["show", "x"])
    assert result.output == "with_commands True\n"


def test_app_group_commands_and_subgroups_get_the_app_context(runner: CliRunner) -> None:
    group = AppGroup("tools")

    @group.command
    def bare() -> None:
        click.echo(f"bare {current_app.name}")

    @group.group
    def sub() -> None:
        pass

    @sub.command()
    @click.option("--times", default=1)
    def deep(times: int) -> None:
        click.echo(f"deep {current_app.name} {times}")

    @group.command(with_appcontext=False)
    def plain() -> None:
        click.echo(f"plain {bool(current_app)}")

    info = ScriptInfo(create_app=lambda: erlen.Erlen("grouped"))
    assert isinstance(sub, AppGroup)
    assert runner.invoke(group, ["bare"], obj=info).output == "bare grouped\n"
    assert runner.invoke(group, ["sub", "deep", "--times", "2"], obj=info).output == (
        "deep grouped 2\n"
    )
    assert runner.invoke(group, ["plain"], obj=info).output == "plain False\n"


def test_with_appcontext_loads_the_app_for_a_plain_click_command(runner: CliRunner) -> None:
    @click.command()
    @with_appcontext
    def plain() -> None:
        click.echo(current_app.name)

    info = ScriptInfo(create_app=lambda: erlen.Erlen("plain_click"))
    assert runner.invoke(plain, obj=info).output == "plain_click\n"


def test_missing_app_is_reported_without_hiding_builtin_commands(
    modules: Path, runner: CliRunner
) -> None:
    group = FlaskGroup()

    result = runner.invoke(group, ["--help"])
    assert result.exit_code == 0
    assert "Could not locate an Erlen application" in result.stderr
    assert "routes" in result.stdout and "run" in result.stdout

    result = runner.invoke(group, ["unknown"])
    assert result.exit_code == 2
    assert "FLASK_APP" in result.stderr
    assert "No such command" in result.stderr


def test_app_that_crashes_while_loading_shows_a_traceback_in_help(runner: CliRunner) -> None:
    def create_app() -> erlen.Erlen:
        raise ValueError("config is broken")

    result = runner.invoke(FlaskGroup(create_app=create_app), ["--help"])
    assert result.exit_code == 0
    assert "Traceback" in result.stderr
    assert "ValueError: config is broken" in result.stderr


def test_debug_flag_reaches_the_app_and_overrides_the_environment(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    group = FlaskGroup(create_app=lambda: erlen.Erlen("dbg"))

    @group.command()
    def debug() -> None:
        click.echo(f"{current_app.debug} {os.environ['FLASK_DEBUG']}")

    assert runner.invoke(group, ["--debug", "debug"]).output == "True 1\n"

    monkeypatch.setenv("ERLEN_DEBUG", "1")
    assert runner.invoke(group, ["--no-debug", "debug"]).output == "False 0\n"
    assert os.environ["ERLEN_DEBUG"] == "0"


def test_plugin_commands_load_from_entry_points(
    modules: Path, runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(
        modules / "greeter.py",
        """\
        import click

        @click.command()
        def hello():
            click.echo("hello from a plugin")
        """,
    )
    dist = modules / "greeter-1.0.dist-info"
    write(dist / "METADATA", "Metadata-Version: 2.1\nName: greeter\nVersion: 1.0\n")
    write(dist / "entry_points.txt", "[flask.commands]\ngreet = greeter:hello\n")

    # No app exists: plugin commands must still work.
    result = runner.invoke(FlaskGroup(), ["greet"])
    assert result.output == "hello from a plugin\n"


def test_version_option_names_python_erlen_and_werkzeug(runner: CliRunner) -> None:
    output = runner.invoke(FlaskGroup(), ["--version"]).output

    assert f"Python {platform.python_version()}" in output
    assert "Erlen " in output
    assert "Werkzeug " in output


# --- env files --------------------------------------------------------------------------------


def test_dotenv_files_fill_only_unset_variables_in_precedence_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path / ".flaskenv", "FOO=flaskenv\nBAR=flaskenv\nBAZ=flaskenv\n")
    write(tmp_path / ".env", "FOO=env\nBAR=env\n")
    custom = write(tmp_path / "custom.env", "FOO=custom\n")
    nested = tmp_path / "a" / "b"
    nested.mkdir(parents=True)
    monkeypatch.chdir(nested)  # files are found by searching up from the working directory
    monkeypatch.setenv("BAZ", "already set")

    assert load_dotenv(custom)
    assert (os.environ["FOO"], os.environ["BAR"], os.environ["BAZ"]) == (
        "custom",
        "env",
        "already set",
    )
    assert not load_dotenv(tmp_path / "nonexistent", load_defaults=False)


def test_without_python_dotenv_env_files_produce_a_hint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "dotenv", None)
    monkeypatch.chdir(tmp_path)
    write(tmp_path / ".env", "FOO=env\n")

    assert not load_dotenv()
    assert "FOO" not in os.environ
    assert "Install python-dotenv to use them." in capsys.readouterr().err


def test_env_file_option_needs_python_dotenv(
    tmp_path: Path, runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "dotenv", None)
    env_file = write(tmp_path / "x.env", "FOO=1\n")

    result = runner.invoke(FlaskGroup(), ["--env-file", str(env_file), "routes"])
    assert result.exit_code == 2
    assert "python-dotenv must be installed to load an env file." in result.output


def test_env_file_option_sets_the_app_and_skip_variable_disables_defaults(
    modules: Path, tmp_path: Path, runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(modules / "factories.py", FACTORY_MODULE)
    write(tmp_path / ".env", "FOO=from_default\n")
    env_file = write(tmp_path / "cli.env", "ERLEN_APP=factories:create_app('env_file')\n")
    group = FlaskGroup()

    @group.command()
    def show() -> None:
        click.echo(f"{current_app.name} {os.environ.get('FOO')}")

    monkeypatch.setenv("ERLEN_SKIP_DOTENV", "1")
    result = runner.invoke(group, ["-e", str(env_file), "show"])
    assert result.output == "env_file None\n"


# --- run --------------------------------------------------------------------------------------


def wsgi_app(environ: object, start_response: object) -> list[bytes]:
    return [b""]


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> dict[str, object]:
    """Capture what ``run`` passes to werkzeug's ``run_simple`` instead of serving."""
    calls: dict[str, object] = {}

    def fake_run_simple(host: str, port: int, app: object, **options: object) -> None:
        calls.update(host=host, port=port, app=app, **options)

    monkeypatch.setattr(erlen.cli, "run_simple", fake_run_simple)
    return calls


def run_group() -> FlaskGroup:
    return FlaskGroup(create_app=lambda: wsgi_app, set_debug_flag=False)  # type: ignore[arg-type,return-value]


def test_run_serves_the_app_with_defaults_and_banner(
    runner: CliRunner, served: dict[str, object]
) -> None:
    result = runner.invoke(run_group(), ["--app", "site:app", "run"])

    assert result.exit_code == 0, result.output
    assert served["app"] is wsgi_app
    assert (served["host"], served["port"]) == ("127.0.0.1", 5000)
    assert served["use_reloader"] is False and served["use_debugger"] is False
    assert served["threaded"] is True
    assert " * Serving Erlen app 'site:app'" in result.output
    assert " * Debug mode: off" in result.output
    assert os.environ["FLASK_RUN_FROM_CLI"] == "true"


def test_run_debug_turns_on_reloader_and_debugger_unless_disabled(
    runner: CliRunner, served: dict[str, object]
) -> None:
    runner.invoke(run_group(), ["run", "--debug", "--no-reload"])

    assert served["use_debugger"] is True
    assert served["use_reloader"] is False


def test_run_options_come_from_erlen_then_flask_variables(
    runner: CliRunner, served: dict[str, object], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLASK_RUN_PORT", "8001")
    monkeypatch.setenv("FLASK_RUN_HOST", "0.0.0.0")
    monkeypatch.setenv("ERLEN_RUN_PORT", "8002")

    runner.invoke(run_group(), ["run"])
    assert (served["host"], served["port"]) == ("0.0.0.0", 8002)


def test_run_splits_extra_files_and_exclude_patterns(
    runner: CliRunner, served: dict[str, object], tmp_path: Path
) -> None:
    one = write(tmp_path / "one.cfg", "")
    two = write(tmp_path / "two.cfg", "")

    runner.invoke(
        run_group(),
        ["run", "--extra-files", f"{one}{os.pathsep}{two}", "--exclude-patterns", "*.tmp"],
    )
    assert served["extra_files"] == [str(one), str(two)]
    assert served["exclude_patterns"] == ["*.tmp"]


def test_run_cert_and_key_must_be_given_together() -> None:
    here = os.path.abspath(__file__)

    with pytest.raises(click.BadParameter, match='Required when using "--cert"'):
        run_command.make_context("run", ["--cert", here])

    with pytest.raises(click.BadParameter, match='"--cert" must also be specified'):
        run_command.make_context("run", ["--key", here])

    ctx = run_command.make_context("run", ["--key", here, "--cert", here])
    assert ctx.params["cert"] == (here, here)


def test_run_adhoc_cert_needs_cryptography_and_no_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "cryptography", None)
    with pytest.raises(click.BadParameter, match="requires the cryptography library"):
        run_command.make_context("run", ["--cert", "adhoc"])

    monkeypatch.setitem(sys.modules, "cryptography", types.ModuleType("cryptography"))
    assert run_command.make_context("run", ["--cert", "ADHOC"]).params["cert"] == "adhoc"

    with pytest.raises(click.BadParameter, match='"--key" is not used'):
        run_command.make_context("run", ["--cert", "adhoc", "--key", __file__])


def test_run_cert_can_name_an_ssl_context(monkeypatch: pytest.MonkeyPatch) -> None:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    module = types.ModuleType("certs")
    module.Context = context  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "certs", module)

    assert run_command.make_context("run", ["--cert", "certs.Context"]).params["cert"] is context

    with pytest.raises(click.BadParameter):
        run_command.make_context("run", ["--cert", "certs.Context", "--key", __file__])

    with pytest.raises(click.BadParameter):
        run_command.make_context("run", ["--cert", "certs.nothing_here"])


def test_run_fails_when_the_app_cannot_be_loaded(runner: CliRunner, modules: Path) -> None:
    result = runner.invoke(FlaskGroup(), ["--app", "nowhere", "run"])

    assert result.exit_code == 2
    assert "Could not import 'nowhere'." in result.output


# --- shell and routes -------------------------------------------------------------------------


def test_shell_starts_with_the_app_shell_context(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = erlen.Erlen("shelled")
    app.shell_context_processor(lambda: {"answer": 42})
    seen: dict[str, object] = {}

    def fake_interact(banner: str, local: dict[str, object]) -> None:
        seen.update(banner=banner, local=local)

    monkeypatch.setattr("code.interact", fake_interact)
    monkeypatch.delattr(sys, "__interactivehook__", raising=False)
    result = runner.invoke(FlaskGroup(create_app=lambda: app), ["shell"])

    assert result.exit_code == 0, result.output
    assert "App: shelled" in str(seen["banner"])
    local = seen["local"]
    assert isinstance(local, dict)
    assert local["answer"] == 42 and local["app"] is app


@pytest.fixture
def routed_app() -> erlen.Erlen:
    app = erlen.Erlen("routed")
    app.add_url_rule("/zz/<int:id>", endpoint="b_item", methods=["GET", "POST"])
    app.add_url_rule("/aa", endpoint="c_post", methods=["POST"])
    return app


def routes_rows(output: str) -> list[list[str]]:
    return [line.split() for line in output.splitlines()[2:]]


def test_routes_lists_endpoints_sorted_by_endpoint(
    runner: CliRunner, routed_app: erlen.Erlen
) -> None:
    output = runner.invoke(FlaskGroup(create_app=lambda: routed_app), ["routes"]).output
    lines = output.splitlines()

    assert lines[0].split() == ["Endpoint", "Methods", "Rule"]
    assert set(lines[1].replace(" ", "")) == {"-"}
    assert routes_rows(output) == [
        ["b_item", "GET,", "POST", "/zz/<int:id>"],
        ["c_post", "POST", "/aa"],
        ["static", "GET", "/static/<path:filename>"],
    ]


@pytest.mark.parametrize(
    ("sort", "order"),
    [
        ("methods", ["static", "b_item", "c_post"]),
        ("rule", ["c_post", "static", "b_item"]),
    ],
)
def test_routes_sort_option(
    runner: CliRunner, routed_app: erlen.Erlen, sort: str, order: list[str]
) -> None:
    output = runner.invoke(FlaskGroup(create_app=lambda: routed_app), ["routes", "-s", sort])
    assert [row[0] for row in routes_rows(output.output)] == order


def test_routes_match_order_follows_the_url_map(runner: CliRunner, routed_app: erlen.Erlen) -> None:
    output = runner.invoke(FlaskGroup(create_app=lambda: routed_app), ["routes", "-s", "match"])
    expected = [rule.endpoint for rule in routed_app.url_map.iter_rules()]
    assert [row[0] for row in routes_rows(output.output)] == expected


def test_routes_hide_head_and_options_unless_asked(
    runner: CliRunner, routed_app: erlen.Erlen
) -> None:
    group = FlaskGroup(create_app=lambda: routed_app)

    assert "HEAD" not in runner.invoke(group, ["routes"]).output
    assert "GET, HEAD, OPTIONS, POST" in runner.invoke(group, ["routes", "--all-methods"]).output


def test_routes_show_subdomain_or_host_column(runner: CliRunner) -> None:
    by_subdomain = erlen.Erlen("sub", static_folder=None)
    by_subdomain.add_url_rule("/", endpoint="shop", subdomain="shop")
    by_subdomain.add_url_rule("/", endpoint="main")
    output = runner.invoke(FlaskGroup(create_app=lambda: by_subdomain), ["routes"]).output
    assert output.splitlines()[0].split() == ["Endpoint", "Methods", "Subdomain", "Rule"]
    assert routes_rows(output)[1] == ["shop", "GET", "shop", "/"]

    by_host = erlen.Erlen("host", static_folder=None, host_matching=True)
    by_host.add_url_rule("/", endpoint="api", host="api.example.com")
    output = runner.invoke(FlaskGroup(create_app=lambda: by_host), ["routes"]).output
    assert "Host" in output.splitlines()[0]
    assert "api.example.com" in output


def test_routes_without_any_rule(runner: CliRunner) -> None:
    app = erlen.Erlen("bare", static_folder=None)
    result = runner.invoke(FlaskGroup(create_app=lambda: app), ["routes"])
    assert result.output == "No routes were registered.\n"


def test_python_dash_m_erlen_runs_the_command(tmp_path: Path) -> None:
    import subprocess

    env = {k: v for k, v in os.environ.items() if not k.startswith(("ERLEN_", "FLASK_"))}
    result = subprocess.run(
        [sys.executable, "-m", "erlen", "--help"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        check=False,
    )
    assert result.returncode == 0
    assert "Usage: python -m erlen" in result.stdout
    assert "A general utility script for Erlen applications." in result.stdout
