"""The extensions, created unbound; ``create_app`` binds them to the app."""

from erlen.ext.csrf import CSRFProtect
from erlen.ext.login import LoginManager
from erlen.ext.sqlalchemy import SQLAlchemy

db = SQLAlchemy()
login_manager = LoginManager()
csrf = CSRFProtect()
