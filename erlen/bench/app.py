"""The benchmark app: one file, built on whichever framework module it is given.

``create_app(flask)`` and ``create_app(erlen)`` build the same routes from the same code, so
the two frameworks are measured doing identical work.
"""

from __future__ import annotations

import os
import types
import typing as t

HERE = os.path.dirname(os.path.abspath(__file__))


def create_app(fw: types.ModuleType) -> t.Any:
    app = fw.Flask(__name__, template_folder=os.path.join(HERE, "templates"))
    request = fw.request

    @app.route("/")
    def hello() -> str:
        return "Hello, World!"

    @app.route("/users/<int:user_id>")
    def user(user_id: int) -> t.Any:
        return fw.jsonify(id=user_id, name="Ada", fields=request.args.get("fields", "all"))

    @app.route("/page")
    def page() -> str:
        items = [{"name": f"item {i}", "price": i * 1.5} for i in range(10)]
        return fw.render_template("page.html", title="Catalogue", items=items)

    @app.post("/echo")
    def echo() -> t.Any:
        data = request.get_json()
        return {"received": data, "count": len(data)}

    return app
