# ``import served_routes`` for mypy, as pytest resolves it for the tests (tests/web/ on
# sys.path): the whole module, checked under its path name. See [tool.mypy] in pyproject.toml.
from tests.web.served_routes import *  # noqa: F403
