"""Flaskr, the Flask tutorial's blog, with Flask-SQLAlchemy, Flask-Login and CSRF protection,
moved to erlen: the imports changed, nothing else (see docs/migrating-from-flask.md).
"""

from erlen import Flask

from .extensions import csrf
from .extensions import db
from .extensions import login_manager


def create_app(test_config=None):
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_mapping(
        SECRET_KEY="dev",
        SQLALCHEMY_DATABASE_URI="sqlite:///flaskr.sqlite",
    )
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
    else:
        app.config.from_mapping(test_config)

    db.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    csrf.init_app(app)

    from . import auth
    from . import blog

    app.register_blueprint(auth.bp)
    app.register_blueprint(blog.bp)
    app.add_url_rule("/", endpoint="index")

    @app.cli.command("init-db")
    def init_db_command():
        """Create the tables."""
        db.create_all()
        print("Initialized the database.")

    return app
