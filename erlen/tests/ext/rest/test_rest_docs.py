"""The docs page and its static assets: our own files, served by the API itself."""

from __future__ import annotations

import re

import erlen
from erlen.ext.rest import Api
from erlen.testing import FlaskClient


def test_docs_page_is_html_that_points_at_the_document_and_assets(
    api_client: FlaskClient,
) -> None:
    rv = api_client.get("/api/docs")
    assert rv.status_code == 200
    assert rv.mimetype == "text/html"
    html = rv.get_data(as_text=True)
    assert "<title>Things — API reference</title>" in html
    assert 'data-spec-url="/api/openapi.json"' in html
    assert '<script src="/api/docs/static/docs.js" defer></script>' in html
    assert '<link rel="stylesheet" href="/api/docs/static/docs.css">' in html


def test_docs_page_loads_nothing_from_other_origins(api_client: FlaskClient) -> None:
    html = api_client.get("/api/docs").get_data(as_text=True)
    for url in re.findall(r'(?:src|href)="([^"]+)"', html):
        assert url.startswith("/api/"), url
    with api_client.get("/api/docs/static/docs.js") as rv:
        script = rv.get_data(as_text=True)
    assert "http://" not in script and "https://" not in script
    # Values from the document are inserted as text, never parsed as HTML.
    assert "innerHTML" not in script


def test_docs_page_has_no_inline_script_so_a_strict_csp_allows_it(
    api_client: FlaskClient,
) -> None:
    html = api_client.get("/api/docs").get_data(as_text=True)
    assert re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html) is None
    assert "style=" not in html


def test_static_assets_are_served_with_their_types(api_client: FlaskClient) -> None:
    script = api_client.get("/api/docs/static/docs.js")
    style = api_client.get("/api/docs/static/docs.css")
    assert (script.status_code, script.mimetype) == (200, "text/javascript")
    assert (style.status_code, style.mimetype) == (200, "text/css")
    assert b"fetch(" in script.data
    assert b"details.op" in style.data
    script.close()
    style.close()


def test_missing_asset_is_a_404_problem(api_client: FlaskClient) -> None:
    rv = api_client.get("/api/docs/static/nope.js")
    assert (rv.status_code, rv.mimetype) == (404, "application/problem+json")


def test_asset_paths_cannot_escape_the_static_folder(api_client: FlaskClient) -> None:
    rv = api_client.get("/api/docs/static/../api.py")
    assert rv.status_code == 404
    rv = api_client.get("/api/docs/static/%2e%2e/api.py")
    assert rv.status_code == 404


def test_title_is_escaped_in_the_page(app: erlen.Erlen) -> None:
    Api(app, title="<script>alert(1)</script>")
    html = app.test_client().get("/api/docs").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;" in html


def test_docs_path_is_configurable_and_can_be_turned_off(app: erlen.Erlen) -> None:
    Api(app, prefix="/one", docs_path="/reference", name="one")
    Api(app, prefix="/two", docs_path=None, name="two")
    client = app.test_client()
    html = client.get("/one/reference").get_data(as_text=True)
    assert 'src="/one/reference/static/docs.js"' in html
    assert client.get("/two/docs").status_code == 404
    assert client.get("/two/openapi.json").status_code == 200


def test_docs_page_in_a_blueprint_links_its_own_urls(app: erlen.Erlen) -> None:
    bp = erlen.Blueprint("public", __name__, url_prefix="/public")
    Api(bp)
    app.register_blueprint(bp)
    html = app.test_client().get("/public/api/docs").get_data(as_text=True)
    assert 'data-spec-url="/public/api/openapi.json"' in html
    assert 'src="/public/api/docs/static/docs.js"' in html
