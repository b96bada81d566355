# ``import nginx_errors`` for mypy, as pytest resolves it for the tests (tests/integration/ on
# sys.path). See [tool.mypy] in pyproject.toml.
from tests.integration.nginx_errors import *  # noqa: F403
