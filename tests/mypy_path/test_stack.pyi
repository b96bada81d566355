# ``import test_stack`` for mypy, as pytest resolves it for the tests (tests/integration/ on
# sys.path): the whole module, checked under its path name. See [tool.mypy] in pyproject.toml.
from tests.integration.test_stack import *  # noqa: F403
