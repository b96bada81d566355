# ``import compose_stack`` for mypy, as pytest resolves it for the tests (tests/containers/ on
# sys.path): the whole module, checked under its path name. See [tool.mypy] in pyproject.toml.
from tests.containers.compose_stack import *  # noqa: F403
