"""Metadata in the shape of Flask-Login's ``flask_login.__about__``.

The version is the Flask-Login version whose API this implements, for code that checks it;
erlen's own version is ``importlib.metadata.version("erlen")``.
"""

__title__ = "erlen.ext.login"
__description__ = "User session management for erlen, with Flask-Login's API"
__url__ = "https://github.com/erlen/erlen"
__version_info__ = ("0", "6", "3")
__version__ = ".".join(__version_info__)
__author__ = "the erlen authors"
__author_email__ = "erlen@example.invalid"
__maintainer__ = "the erlen authors"
__license__ = "BSD-3-Clause"
__copyright__ = "(c) the erlen authors"
