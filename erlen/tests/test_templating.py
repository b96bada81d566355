"""Behaviour of erlen.templating: loading from app and blueprints, context, rendering, signals."""

from __future__ import annotations

import logging
import typing as t
from pathlib import Path

import pytest
from jinja2 import DictLoader
from jinja2 import TemplateNotFound
from markupsafe import Markup

import erlen
from erlen.signals import before_render_template
from erlen.signals import template_rendered

if t.TYPE_CHECKING:
    from erlen import Erlen


@pytest.fixture
def root(tmp_path: Path) -> Path:
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "hello.html").write_text("Hello {{ name }}!")
    (templates / "shared.html").write_text("from the app")
    (templates / "context.html").write_text(
        "{{ request.path }}|{{ g.user }}|{{ session.get('k') }}|{{ config.TESTING }}"
    )
    (templates / "mail.txt").write_text("{{ body }}")
    (templates / "chunks.html").write_text("{% for i in items %}[{{ i }}]{% endfor %}")

    bp_templates = tmp_path / "bp_templates"
    bp_templates.mkdir()
    (bp_templates / "shared.html").write_text("from the blueprint")
    (bp_templates / "only_bp.html").write_text("blueprint page")
    return tmp_path


@pytest.fixture
def app(root: Path) -> Erlen:
    app = erlen.Erlen("templating_app", root_path=str(root))
    app.config.update(TESTING=True, SECRET_KEY="templating secret")
    bp = erlen.Blueprint(
        "bp", "templating_app", root_path=str(root), template_folder="bp_templates"
    )
    app.register_blueprint(bp)
    return app


# Loading


def test_renders_template_from_app_folder(app: Erlen) -> None:
    with app.app_context():
        assert erlen.render_template("hello.html", name="Ada") == "Hello Ada!"


def test_falls_back_to_blueprint_folders(app: Erlen) -> None:
    with app.app_context():
        assert erlen.render_template("only_bp.html") == "blueprint page"


def test_app_folder_wins_over_blueprint_folder(app: Erlen) -> None:
    with app.app_context():
        assert erlen.render_template("shared.html") == "from the app"


def test_missing_template_raises_not_found(app: Erlen) -> None:
    with app.app_context(), pytest.raises(TemplateNotFound):
        erlen.render_template("nowhere.html")


def test_list_picks_the_first_existing_template(app: Erlen) -> None:
    with app.app_context():
        rendered = erlen.render_template(["nope.html", "hello.html", "shared.html"], name="x")
    assert rendered == "Hello x!"


def test_loader_lists_templates_from_app_and_blueprints(app: Erlen) -> None:
    names = app.jinja_env.list_templates()
    assert {"hello.html", "shared.html", "only_bp.html"} <= set(names)
    assert names.count("shared.html") == 1


def test_explained_loading_logs_each_attempt(app: Erlen, caplog: pytest.LogCaptureFixture) -> None:
    app.config["EXPLAIN_TEMPLATE_LOADING"] = True
    with caplog.at_level(logging.INFO, logger=app.logger.name), app.app_context():
        assert erlen.render_template("shared.html") == "from the app"
        with pytest.raises(TemplateNotFound):
            erlen.render_template("nowhere.html")
    text = "\n".join(record.getMessage() for record in caplog.records)
    assert "shared.html" in text
    assert "nowhere.html" in text
    assert "blueprint 'bp'" in text


def test_environment_uses_app_global_loader() -> None:
    class DictApp(erlen.Erlen):
        # Deliberately another kind of loader than the DispatchingJinjaLoader the method is
        # declared to return (as in Flask): the environment uses whatever loader it gets.
        def create_global_jinja_loader(self) -> DictLoader:  # type: ignore[override]
            return DictLoader({"page.html": "from a dict"})

    app = DictApp("dict_app")
    assert isinstance(app.jinja_env, erlen.templating.Environment)
    assert app.jinja_env.app is app
    with app.app_context():
        assert erlen.render_template("page.html") == "from a dict"


def test_environment_keeps_an_explicit_loader() -> None:
    app = erlen.Erlen("explicit_loader")
    env = erlen.templating.Environment(app, loader=DictLoader({"a": "b"}))
    assert env.get_template("a").render() == "b"


# Context


def test_templates_see_request_g_session_and_config(app: Erlen) -> None:
    @app.route("/page")
    def page() -> str:
        erlen.g.user = "ada"
        erlen.session["k"] = "v"
        return erlen.render_template("context.html")

    assert app.test_client().get("/page").text == "/page|ada|v|True"


def test_context_processors_add_values_and_explicit_values_win(app: Erlen) -> None:
    @app.context_processor
    def extra() -> dict[str, t.Any]:
        return {"shout": "HEY", "name": "processor"}

    with app.app_context():
        assert erlen.render_template_string("{{ shout }} {{ name }}") == "HEY processor"
        assert erlen.render_template_string("{{ shout }} {{ name }}", name="mine") == "HEY mine"
        assert erlen.render_template_string("{{ config }}", config=42) == "42"


def test_rendering_works_without_a_request(app: Erlen) -> None:
    with app.app_context():
        erlen.g.user = "worker"
        assert erlen.render_template_string("{{ g.user }} {{ config.TESTING }}") == "worker True"


def test_rendering_outside_app_context_is_an_error() -> None:
    with pytest.raises(RuntimeError, match="application context"):
        erlen.render_template_string("x")


def test_html_is_escaped_but_text_is_not(app: Erlen) -> None:
    with app.app_context():
        assert erlen.render_template_string("{{ v }}", v="<b>") == "&lt;b&gt;"
        assert erlen.render_template_string("{{ v }}", v=Markup("<b>")) == "<b>"
        assert erlen.render_template("mail.txt", body="<b>") == "<b>"


def test_default_context_processor_gives_concrete_g_and_request(app: Erlen) -> None:
    from erlen.templating import _default_template_ctx_processor

    with app.app_context() as app_ctx:
        assert _default_template_ctx_processor() == {"g": app_ctx.g}
    with app.test_request_context("/here") as req_ctx:
        values = _default_template_ctx_processor()
        assert values["request"] is req_ctx.request
        assert values["g"] is erlen.g._get_current_object()
        assert "session" not in values
    assert _default_template_ctx_processor() == {}


# Streaming


def test_stream_template_yields_pieces(app: Erlen) -> None:
    with app.app_context():
        pieces = list(erlen.stream_template("chunks.html", items=[1, 2]))
    assert "".join(pieces) == "[1][2]"
    assert len(pieces) > 1


def test_streamed_template_keeps_the_request(app: Erlen) -> None:
    @app.route("/stream")
    def stream() -> t.Any:
        return erlen.Response(erlen.stream_template_string("{{ request.args.q }}!"))

    assert app.test_client().get("/stream?q=yes").text == "yes!"


def test_stream_template_string(app: Erlen) -> None:
    with app.app_context():
        assert "".join(erlen.stream_template_string("{{ a }}-{{ b }}", a=1, b=2)) == "1-2"


# Signals


def test_render_sends_before_and_after_signals(app: Erlen) -> None:
    events: list[tuple[str, t.Any, t.Any, dict[str, t.Any]]] = []

    def before(sender: t.Any, template: t.Any, context: dict[str, t.Any]) -> None:
        events.append(("before", sender, template.name, dict(context)))

    def after(sender: t.Any, template: t.Any, context: dict[str, t.Any]) -> None:
        events.append(("after", sender, template.name, dict(context)))

    with (
        before_render_template.connected_to(before, app),
        template_rendered.connected_to(after, app),
        app.app_context(),
    ):
        erlen.render_template("hello.html", name="Ada")

    assert [(kind, sender, name) for kind, sender, name, _ in events] == [
        ("before", app, "hello.html"),
        ("after", app, "hello.html"),
    ]
    assert events[0][3]["name"] == "Ada"


def test_before_render_can_change_the_context(app: Erlen) -> None:
    def change(sender: t.Any, template: t.Any, context: dict[str, t.Any]) -> None:
        context["name"] = "changed"

    with before_render_template.connected_to(change, app), app.app_context():
        assert erlen.render_template("hello.html", name="Ada") == "Hello changed!"


def test_streamed_render_signals_after_the_last_piece(app: Erlen) -> None:
    rendered: list[str] = []

    def after(sender: t.Any, template: t.Any, context: dict[str, t.Any]) -> None:
        rendered.append("done")

    with template_rendered.connected_to(after, app), app.app_context():
        stream = erlen.stream_template("chunks.html", items=[1])
        assert rendered == []
        assert "".join(stream) == "[1]"
        assert rendered == ["done"]


# Template helpers registered on the app


def test_template_filters_tests_and_globals(app: Erlen) -> None:
    @app.template_filter()
    def reverse(s: str) -> str:
        return s[::-1]

    @app.template_test()
    def even(n: int) -> bool:
        return n % 2 == 0

    @app.template_global()
    def answer() -> int:
        return 42

    with app.app_context():
        rendered = erlen.render_template_string(
            "{{ 'abc'|reverse }} {{ 4 is even }} {{ answer() }}"
        )
    assert rendered == "cba True 42"


def test_template_globals_stay_a_live_view_of_the_environments() -> None:
    import erlen

    app = erlen.Erlen(__name__)
    with app.app_context():
        template = app.jinja_env.from_string("{{ late }} {{ shadowed }}", {"shadowed": "own"})
        app.jinja_env.globals["late"] = "added later"
        app.jinja_env.globals["shadowed"] = "environment's"
        assert template.render() == "added later own"
        assert "missing" not in template.globals
        with pytest.raises(KeyError):
            template.globals["missing"]
